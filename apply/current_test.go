package apply

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

// twoKeys is a profile whose values alternate with i, so that every apply
// writes; from i = 3 on it also sets a third key, which the baseline does
// not have yet.
func twoKeys(t *testing.T, i int) *profiles.Resolved {
	v := []string{"1000", "2000"}[i%2]
	body := "name: p\nsettings:\n  net.core.somaxconn: " + v + "\n  net.ipv4.tcp_fin_timeout: 3" + v[:1] + "\n"
	if i >= 3 {
		body += "  net.ipv4.tcp_keepalive_time: 60" + v[:1] + "\n"
	}
	return profileFile(t, body)
}

func js(v any) string { b, _ := json.MarshalIndent(v, "", " "); return string(b) }

func mtime(t *testing.T, path string) unix.Timespec {
	t.Helper()
	var st unix.Stat_t
	must(t, unix.Lstat(path, &st))
	return st.Mtim
}

// setMtime sets path's mtime (and atime) to ts.
func setMtime(t *testing.T, path string, ts unix.Timespec) {
	t.Helper()
	must(t, unix.UtimesNanoAt(unix.AT_FDCWD, path, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW))
}

// plantCrash copies the newest record under the next sequence number with
// no mark: what a SIGKILL mid-apply leaves, made by something other than
// this tcptune (an older one, a hand edit), so the summary is untouched.
func plantCrash(t *testing.T, st store) string {
	t.Helper()
	l, err := st.scan()
	must(t, err)
	last := l.last()
	r, err := st.load(last)
	must(t, err)
	r.Seq++
	r.ID = txIDFor(r.Seq, r.Started)
	r.State, r.Finished = TxApplying, nil
	b, err := encodeRecord(r)
	must(t, err)
	must(t, os.WriteFile(st.path(r.ID), b, 0o644))
	return r.ID
}

// TestCurrentSummaryIsTheListing: after every apply (61 of them: pruning
// from the 51st, a new key for the baseline at the 4th) the summary is
// current, and what apply reads from it instead of the directory is the
// directory: the listing, the record count kept, the baseline's keys.
func TestCurrentSummaryIsTheListing(t *testing.T) {
	e := newTxEnv(t, stock)
	st := store{dir: e.opts.StateDir}
	for i := 0; i < MaxRecords+11; i++ {
		_, err := Apply(context.Background(), twoKeys(t, i), e.opts)
		must(t, err)
		l, sm, ok := st.current()
		if !ok {
			t.Fatalf("apply %d: the summary it wrote is not current", i+1)
		}
		full, err := st.scan()
		must(t, err)
		if got, want := l.names(), full.names(); got != want {
			t.Fatalf("apply %d: the summary's listing differs from the directory's:\n%s\nwant\n%s", i+1, got, want)
		}
		if len(full.orphans)+len(full.temps) != 0 {
			t.Fatalf("apply %d left marks without a record or temp files: %q %q", i+1, full.orphans, full.temps)
		}
		if want := min(i+1, MaxRecords); full.count() != want || l.count() != want {
			t.Fatalf("apply %d: %d records in the directory, %d in the summary, want %d", i+1, full.count(), l.count(), want)
		}
		if all := l.all(); len(all) != full.count() || all[0].id != full.entries[0].id {
			t.Fatalf("apply %d: the summary's listing parsed in full has %d transactions from %s", i+1, len(all), all[0].id)
		}
		// Status from the summary apply kept this way is status decoded.
		fast, err := LoadStatus(e.opts)
		must(t, err)
		b, err := os.ReadFile(st.summaryPath())
		must(t, err)
		was := mtime(t, st.txDir())
		must(t, os.Remove(st.summaryPath()))
		slow, err := LoadStatus(e.opts)
		must(t, err)
		if d := cmp.Diff(js(slow), js(fast)); d != "" {
			t.Fatalf("apply %d: status from the summary differs from decoding (-decoded +summary):\n%s", i+1, d)
		}
		must(t, os.WriteFile(st.summaryPath(), b, 0o644))
		setMtime(t, st.summaryPath(), was)
		setMtime(t, st.txDir(), was) // current again: the next apply takes it
		bl, err := st.loadBaseline()
		must(t, err)
		f := sm.baseline()
		if f == nil || len(f.keys) != len(bl.Keys) || !st.covers(f, nil, nil, nil) {
			t.Fatalf("apply %d: the summary's baseline facts %+v do not describe the baseline (%d keys)", i+1, f, len(bl.Keys))
		}
	}
	bl, err := st.loadBaseline()
	must(t, err)
	if len(bl.Keys) != 3 {
		t.Errorf("baseline has %d keys, want 3: a key new at the 4th apply was not added", len(bl.Keys))
	}
}

// TestCrashFoundWhenTheSummaryIsStale: a crash mid-apply leaves the
// summary behind it; apply finds the crash even when the directory's mtime
// did not move (timestamps coarser than two applies: the directory is put
// back to its mtime from before the crash), because the record marked the
// summary stale first. And with no summary at all.
func TestCrashFoundWhenTheSummaryIsStale(t *testing.T) {
	for _, name := range []string{"stale", "missing"} {
		t.Run(name, func(t *testing.T) {
			e := newTxEnv(t, stock)
			st := store{dir: e.opts.StateDir}
			for i := 0; i < 3; i++ {
				_, err := Apply(context.Background(), twoKeys(t, i), e.opts)
				must(t, err)
			}
			was := mtime(t, st.txDir())
			crashAfter(t, e, twoKeys(t, 3), 1)
			setMtime(t, st.txDir(), was)
			if name == "missing" {
				must(t, os.Remove(st.summaryPath()))
			}
			if _, _, ok := st.current(); ok {
				t.Fatal("the summary from before the crash is taken as current")
			}
			if _, err := Apply(context.Background(), twoKeys(t, 4), e.opts); !errors.Is(err, ErrCrashed) {
				t.Fatalf("apply after the crash: %v, want ErrCrashed", err)
			}
		})
	}
}

// TestCrashFoundWhenAnotherWriterChangedTx: a crashed record that this
// tcptune did not write (an older tcptune, a copy, a hand edit) leaves the
// summary as it was; the directory's mtime tells.
func TestCrashFoundWhenAnotherWriterChangedTx(t *testing.T) {
	e := newTxEnv(t, stock)
	st := store{dir: e.opts.StateDir}
	for i := 0; i < 3; i++ {
		_, err := Apply(context.Background(), twoKeys(t, i), e.opts)
		must(t, err)
	}
	id := plantCrash(t, st)
	if _, err := Apply(context.Background(), twoKeys(t, 3), e.opts); !errors.Is(err, ErrCrashed) || !strings.Contains(err.Error(), id) {
		t.Fatalf("apply over the planted crash %s: %v, want ErrCrashed naming it", id, err)
	}
}

// TestSummaryOfAnotherBootIsNotCurrent: a power loss can keep a summary
// and the directory's mtime yet lose a mark that was not fsync'd (the
// newest "applied"); the record then looks crashed, and apply must see
// that: a summary of another boot is never current.
func TestSummaryOfAnotherBootIsNotCurrent(t *testing.T) {
	e := newTxEnv(t, stock)
	st := store{dir: e.opts.StateDir}
	for i := 0; i < 3; i++ {
		_, err := Apply(context.Background(), twoKeys(t, i), e.opts)
		must(t, err)
	}
	l, err := st.scan()
	must(t, err)
	was := mtime(t, st.txDir())
	must(t, os.Remove(st.markPath(l.last().id, TxApplied)))
	setMtime(t, st.txDir(), was)
	if _, _, ok := st.current(); !ok {
		t.Fatal("the plant did not keep the summary current in this boot")
	}
	other := filepath.Join(t.TempDir(), "boot_id")
	must(t, os.WriteFile(other, []byte("00000000-0000-4000-8000-000000000001\n"), 0o644))
	defer func(p string) { bootIDPath = p }(bootIDPath)
	bootIDPath = other
	if _, err := Apply(context.Background(), twoKeys(t, 3), e.opts); !errors.Is(err, ErrCrashed) || !strings.Contains(err.Error(), l.last().id) {
		t.Fatalf("apply after a power loss lost the mark of %s: %v, want ErrCrashed naming it", l.last().id, err)
	}
	bootIDPath = filepath.Join(t.TempDir(), "none") // no boot id known: never current
	if _, _, ok := st.current(); ok {
		t.Error("a summary is current with no boot id known")
	}
}

// toFormat3 rewrites the summary as the previous tcptune wrote it (format
// 3: no B, O or K line), keeping its mtime: only the format tells.
func toFormat3(t *testing.T, st store) {
	t.Helper()
	b, err := os.ReadFile(st.summaryPath())
	must(t, err)
	ts := mtime(t, st.summaryPath())
	var out []string
	for i, line := range strings.Split(string(b), "\n") {
		switch {
		case i == 0:
			line = oldSummaryHead
		case strings.HasPrefix(line, "B ") || strings.HasPrefix(line, "O ") || strings.HasPrefix(line, "K "):
			continue
		}
		out = append(out, line)
	}
	must(t, os.WriteFile(st.summaryPath(), []byte(strings.Join(out, "\n")), 0o644))
	setMtime(t, st.summaryPath(), ts)
}

// TestOldFormatStateDir: a state directory of the previous tcptune (a
// format 3 summary, or the JSON summary before it, or none) works: status
// reads it, apply reads the directory (so a crash it left is found, even
// with the summary's mtime equal to the directory's), and the next apply
// writes a current summary.
func TestOldFormatStateDir(t *testing.T) {
	setup := func(t *testing.T) (*txEnv, store) {
		e := newTxEnv(t, stock)
		st := store{dir: e.opts.StateDir}
		for i := 0; i < 3; i++ {
			_, err := Apply(context.Background(), twoKeys(t, i), e.opts)
			must(t, err)
		}
		return e, st
	}
	t.Run("crash under a format 3 summary", func(t *testing.T) {
		e, st := setup(t)
		id := plantCrash(t, st)
		toFormat3(t, st)
		setMtime(t, st.txDir(), mtime(t, st.summaryPath()))
		s, err := LoadStatus(e.opts)
		must(t, err)
		if len(s.Crashed) != 1 || s.Crashed[0].ID != id {
			t.Errorf("status crashed = %+v, want %s", s.Crashed, id)
		}
		if _, err := Apply(context.Background(), twoKeys(t, 3), e.opts); !errors.Is(err, ErrCrashed) {
			t.Fatalf("apply over a crash under a format 3 summary: %v, want ErrCrashed", err)
		}
	})
	for _, old := range []string{"format 3", "summary.json", "none"} {
		t.Run(old, func(t *testing.T) {
			e, st := setup(t)
			switch old {
			case "format 3":
				toFormat3(t, st)
			case "summary.json":
				must(t, os.Remove(st.summaryPath()))
				must(t, os.WriteFile(filepath.Join(st.txDir(), oldSummaryName), []byte(`{"listing":"x"}`), 0o644))
			case "none":
				must(t, os.Remove(st.summaryPath()))
			}
			s, err := LoadStatus(e.opts)
			must(t, err)
			if len(s.Transactions) != 3 || len(s.Crashed) != 0 {
				t.Fatalf("status of the old state dir: %d transactions, crashed %+v", len(s.Transactions), s.Crashed)
			}
			if _, _, ok := st.current(); ok {
				t.Fatal("an old state dir's summary is taken as current")
			}
			_, err = Apply(context.Background(), twoKeys(t, 3), e.opts)
			must(t, err)
			if _, _, ok := st.current(); !ok {
				t.Error("apply on the old state dir wrote no current summary")
			}
			if _, err := os.Stat(filepath.Join(st.txDir(), oldSummaryName)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s left: %v", oldSummaryName, err)
			}
			if s, err = LoadStatus(e.opts); err != nil || len(s.Transactions) != 4 {
				t.Errorf("status after the apply: %v, %+v", err, s)
			}
		})
	}
}

// TestChangedBaselineIsDecoded: the summary's facts spare apply the
// baseline's decode only while the file is the one they describe: a
// baseline changed since (here garbage, as a tamper or a bad disk leaves
// it) is read, found corrupt, moved aside and rebuilt, as without a
// summary.
func TestChangedBaselineIsDecoded(t *testing.T) {
	e := newTxEnv(t, stock)
	st := store{dir: e.opts.StateDir}
	for i := 0; i < 4; i++ { // the 4th adds the last key
		_, err := Apply(context.Background(), twoKeys(t, i), e.opts)
		must(t, err)
	}
	if _, _, ok := st.current(); !ok {
		t.Fatal("no current summary")
	}
	b, err := os.ReadFile(st.baselinePath())
	must(t, err)
	if !strings.Contains(string(b), "tcp_keepalive_time") {
		t.Fatal("the baseline lacks a key of the next apply: it would be read anyway")
	}
	must(t, os.WriteFile(st.baselinePath(), []byte("{not a baseline"), 0o644))
	setMtime(t, st.txDir(), mtime(t, st.summaryPath())) // the summary stays current
	if _, _, ok := st.current(); !ok {
		t.Fatal("the plant made the summary stale")
	}
	res, err := Apply(context.Background(), twoKeys(t, 4), e.opts)
	must(t, err)
	if !strings.Contains(strings.Join(res.Warnings, "\n"), "rebuilt") {
		t.Errorf("a corrupt baseline was not noticed: warnings %q", res.Warnings)
	}
	if _, err := st.loadBaseline(); err != nil {
		t.Errorf("baseline after the apply: %v", err)
	}
}

// failFrom refuses every write from number from on (counted from 1): the
// apply fails and so does its restore.
type failFrom struct {
	*sysctl.FS
	mu      sync.Mutex
	n, from int
}

func (f *failFrom) Write(k sysctl.Key, v sysctl.Value) error {
	f.mu.Lock()
	f.n++
	n := f.n
	f.mu.Unlock()
	if n >= f.from {
		return &sysctl.Error{Op: "write", Key: k, Path: f.FullPath(k), Class: sysctl.ErrRejected, Err: syscall.EINVAL}
	}
	return f.FS.Write(k, v)
}

// TestRestoreFailedBlocksAfterASummary: an apply whose restore failed
// leaves its transaction open (restore-failed) and writes a summary saying
// so; the next apply must not take that summary as current, and refuses.
func TestRestoreFailedBlocksAfterASummary(t *testing.T) {
	e := newTxEnv(t, stock)
	st := store{dir: e.opts.StateDir}
	_, err := Apply(context.Background(), twoKeys(t, 0), e.opts)
	must(t, err)
	o := e.opts
	o.IO = &failFrom{FS: e.fs, from: 2}
	res, err := Apply(context.Background(), twoKeys(t, 1), o)
	var te *TxError
	if !errors.As(err, &te) || te.Restored {
		t.Fatalf("apply with failing writes: %v, want a TxError with the restore failed", err)
	}
	if sm := st.readSummary(); sm == nil || sm.open != 1 {
		t.Fatalf("the summary after a failed restore: %+v, want one open transaction", sm)
	}
	if _, _, ok := st.current(); ok {
		t.Fatal("a summary listing an open transaction is taken as current")
	}
	if _, err := Apply(context.Background(), twoKeys(t, 2), e.opts); !errors.Is(err, ErrCrashed) || !strings.Contains(err.Error(), res.Transaction) {
		t.Fatalf("apply after the failed restore of %s: %v, want ErrCrashed naming it", res.Transaction, err)
	}
}

// TestSummaryRewrittenByAnotherWriterIsNotCurrent: a summary file that
// tcptune did not write (an older copy restored, an editor's save: a new
// file renamed over it) is not current even when its mtime is made tx/'s,
// as a create can leave it: it lacks the attribute writeSummary set with the
// summary's nonce. A copy of the whole state directory that keeps times and
// attributes (cp -a, a backup restored) is the same state and stays current.
func TestSummaryRewrittenByAnotherWriterIsNotCurrent(t *testing.T) {
	e := newTxEnv(t, stock)
	st := store{dir: e.opts.StateDir}
	for i := 0; i < 3; i++ {
		_, err := Apply(context.Background(), twoKeys(t, i), e.opts)
		must(t, err)
	}
	if _, _, ok := st.current(); !ok {
		t.Fatal("the summary tcptune wrote is not current")
	}
	b, err := os.ReadFile(st.summaryPath())
	must(t, err)
	tmp := filepath.Join(st.txDir(), "summary.restored")
	must(t, os.WriteFile(tmp, b, 0o644)) // the same content in another file
	must(t, os.Rename(tmp, st.summaryPath()))
	setMtime(t, st.summaryPath(), mtime(t, st.txDir()))
	if _, _, ok := st.current(); ok {
		t.Fatal("a summary another writer put in place is taken as current")
	}
}

func TestStateDirCopiedWithAttributesStaysCurrent(t *testing.T) {
	if _, err := exec.LookPath("cp"); err != nil {
		t.Skip("no cp")
	}
	e := newTxEnv(t, stock)
	for i := 0; i < 3; i++ {
		_, err := Apply(context.Background(), twoKeys(t, i), e.opts)
		must(t, err)
	}
	if _, _, ok := (store{dir: e.opts.StateDir}).current(); !ok {
		t.Fatal("the summary tcptune wrote is not current")
	}
	cp := filepath.Join(t.TempDir(), "state")
	if out, err := exec.Command("cp", "-a", e.opts.StateDir, cp).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v\n%s", err, out)
	}
	if _, _, ok := (store{dir: cp}).current(); !ok {
		t.Error("a cp -a copy of the state directory is not current")
	}
}
