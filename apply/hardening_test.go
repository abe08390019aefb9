package apply

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

// failSync makes the n-th fsync of a directory matching match fail (and
// only that one), like a disk that errors once; it returns how many
// matching fsyncs happened.
func failSync(t *testing.T, match func(dir string) bool, n int) *int {
	t.Helper()
	var mu sync.Mutex
	count := 0
	syncDirHook = func(dir string) error {
		if !match(dir) {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		count++
		if count == n {
			return syscall.EIO
		}
		return nil
	}
	t.Cleanup(func() { syncDirHook = nil })
	return &count
}

// within fails the test when f does not return in time: a FIFO read
// would block forever.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still blocked after 10s", what)
	}
}

// Item 1: the fsync of the sysctl.d directory fails after the rename. The
// rename was the commit point: the abort must put the old file back.
func TestPersistDirFsyncFailureRestoresFile(t *testing.T) {
	e := newTxEnv(t, stock)
	before := tree(t, e.fs.Root())
	persistDir := e.opts.PersistDir
	failSync(t, func(d string) bool { return d == persistDir }, 1)
	_, err := Apply(context.Background(), builtin(t, profiles.FailFast), e.opts)
	var te *TxError
	if !errors.As(err, &te) || !te.Restored {
		t.Fatalf("apply with a failing directory fsync: %v, want a restored TxError", err)
	}
	if _, err := os.Stat(e.opts.PersistPath()); !os.IsNotExist(err) {
		b, _ := os.ReadFile(e.opts.PersistPath())
		t.Errorf("the failed transaction's persisted file is left for the next boot:\n%s", b)
	}
	if d := cmp.Diff(before, tree(t, e.fs.Root())); d != "" {
		t.Errorf("keys not restored:\n%s", d)
	}
	if _, err := Rollback(context.Background(), e.opts, ""); !errors.Is(err, ErrNoTransaction) {
		t.Errorf("rollback after the failed apply: %v, want ErrNoTransaction", err)
	}
}

// Item 8: the record was renamed into place, then the directory fsync
// failed: exit with an error, nothing written, and no record left that
// blocks the next apply as crashed.
func TestFailedStartLeavesNoBlockingRecord(t *testing.T) {
	e := newTxEnv(t, stock)
	before := tree(t, e.fs.Root())
	txDir := filepath.Join(e.opts.StateDir, "tx")
	failSync(t, func(d string) bool { return d == txDir }, 1)
	r := builtin(t, profiles.FailFast)
	if _, err := Apply(context.Background(), r, e.opts); err == nil {
		t.Fatal("apply succeeded although its record is not durable")
	}
	if d := cmp.Diff(before, tree(t, e.fs.Root())); d != "" {
		t.Errorf("keys written although the record is not durable:\n%s", d)
	}
	if _, err := Apply(context.Background(), r, e.opts); err != nil {
		t.Errorf("next apply: %v", err)
	}
}

// Item 9: every key restored, only the final record write failed (disk
// full): the error says restored, not RESTORE INCOMPLETE.
func TestRecordFailureIsNotRestoreIncomplete(t *testing.T) {
	e := newTxEnv(t, stock)
	before := tree(t, e.fs.Root())
	txDir := filepath.Join(e.opts.StateDir, "tx")
	failSync(t, func(d string) bool { return d == txDir }, 2) // 1: the record; 2: the failed mark
	e.opts.IO = &faultIO{FS: e.fs, failAt: 2}
	_, err := Apply(context.Background(), builtin(t, profiles.FailFast), e.opts)
	var te *TxError
	if !errors.As(err, &te) || !te.Restored || te.RecordErr == nil {
		t.Fatalf("err = %v, want restored with a record error", err)
	}
	if strings.Contains(err.Error(), "RESTORE INCOMPLETE") || errors.Is(err, ErrRestore) {
		t.Errorf("message claims an incomplete restore: %v", err)
	}
	if !strings.Contains(err.Error(), "every key written was restored") {
		t.Errorf("message does not say the keys are back: %v", err)
	}
	if d := cmp.Diff(before, tree(t, e.fs.Root())); d != "" {
		t.Errorf("keys not restored:\n%s", d)
	}
}

// Item 9: a profile whose only keys are host-wide (seen from a child
// namespace) changes nothing: no record, no header-only persisted file.
func TestHostWideOnlyChangesNothing(t *testing.T) {
	e := newTxEnv(t, stock)
	e.opts.Netns = netns.Child
	r := profileFile(t, "name: hw\nsettings:\n  net.core.netdev_max_backlog: 5000\n  net.core.rmem_max: 4194304\n")
	res, err := Apply(context.Background(), r, e.opts)
	must(t, err)
	if res.Changed || res.Transaction != "" {
		t.Errorf("changed %v transaction %q for host-wide keys only", res.Changed, res.Transaction)
	}
	if _, err := os.Stat(e.opts.PersistPath()); !os.IsNotExist(err) {
		t.Errorf("persisted file written: %v", err)
	}
	if l, _ := (store{dir: e.opts.StateDir}).scan(); len(l.entries) != 0 {
		t.Errorf("%d records written", len(l.entries))
	}
}

// Item 4: pruning keeps at most MaxRecords records, but the original of
// every key survives: rollback --baseline restores the pre-tcptune values
// and the file, byte for byte.
func TestBaselineSurvivesPruning(t *testing.T) {
	e := newTxEnv(t, stock)
	before := tree(t, e.fs.Root())
	must(t, os.MkdirAll(e.opts.PersistDir, 0o755))
	foreign := "# the admin's own file\nnet.core.somaxconn = 128\n"
	must(t, os.WriteFile(e.opts.PersistPath(), []byte(foreign), 0o644))
	_, err := Apply(context.Background(), builtin(t, profiles.FailFast), e.opts)
	must(t, err)
	for i := 0; i < MaxRecords+10; i++ {
		v := []string{"1000", "2000"}[i%2]
		_, err := Apply(context.Background(), profileFile(t, "name: p\nsettings:\n  net.core.somaxconn: "+v+"\n"), e.opts)
		must(t, err)
	}
	st := store{dir: e.opts.StateDir}
	l, err := st.scan()
	must(t, err)
	if len(l.entries) != MaxRecords || l.entries[0].seq == 1 {
		t.Fatalf("%d records, oldest seq %d: the test needs the first ones pruned", len(l.entries), l.entries[0].seq)
	}
	if _, err := Rollback(context.Background(), e.opts, txIDFor(1, e.opts.Now())); !errors.Is(err, ErrNoTransaction) || !strings.Contains(err.Error(), "--baseline") {
		t.Errorf("rollback --to a pruned record: %v, want a pointer to --baseline", err)
	}
	res, err := RollbackBaseline(context.Background(), e.opts)
	must(t, err)
	if !res.Changed || len(res.PersistRestored) != 1 {
		t.Errorf("baseline rollback: %+v", res)
	}
	if d := cmp.Diff(before, tree(t, e.fs.Root())); d != "" {
		t.Errorf("baseline rollback did not restore the pre-tcptune values:\n%s", d)
	}
	if b, _ := os.ReadFile(e.opts.PersistPath()); string(b) != foreign {
		t.Errorf("persisted file after baseline rollback:\n%s\nwant the admin's:\n%s", b, foreign)
	}
	s, err := LoadStatus(e.opts)
	must(t, err)
	if len(s.Applied) != 0 || len(s.Crashed) != 0 {
		t.Errorf("after the baseline rollback: applied %v crashed %v", s.Applied, s.Crashed)
	}
	if _, err := Rollback(context.Background(), e.opts, ""); !errors.Is(err, ErrNoTransaction) {
		t.Errorf("rollback after baseline: %v", err)
	}
}

// Item 3: a reconcile killed mid-correction leaves its own transaction
// "applying"; the next reconcile rolls it back and corrects again. A crash
// of someone else's apply still blocks it.
func TestOwnCrashedCorrectionIsRecovered(t *testing.T) {
	e := newTxEnv(t, stock)
	before := tree(t, e.fs.Root())
	r := builtin(t, profiles.FailFast)
	rc := e.opts
	rc.Origin, rc.RecoverOwnCrash = "reconcile", true
	crashAfter(t, &txEnv{dir: e.dir, fs: e.fs, opts: rc}, r, 2)
	if _, err := Apply(context.Background(), r, e.opts); !errors.Is(err, ErrCrashed) {
		t.Fatalf("plain apply over the crash: %v, want ErrCrashed", err)
	}
	res, err := Apply(context.Background(), r, rc)
	if err != nil {
		t.Fatalf("reconcile's apply after its own crash: %v", err)
	}
	if len(res.Warnings) == 0 || !strings.Contains(strings.Join(res.Warnings, "\n"), "rolled back transaction 000001-") {
		t.Errorf("warnings do not report the recovery: %v", res.Warnings)
	}
	s, err := LoadStatus(e.opts)
	must(t, err)
	if len(s.Crashed) != 0 || s.Drift {
		t.Errorf("after recovery: crashed %v drift %v", s.Crashed, s.Drift)
	}
	// Rolling everything back ends at the pre-crash values.
	_, err = RollbackBaseline(context.Background(), e.opts)
	must(t, err)
	if d := cmp.Diff(before, tree(t, e.fs.Root())); d != "" {
		t.Errorf("after recovery and baseline rollback:\n%s", d)
	}

	// An operator's crashed apply is not reconcile's to undo.
	e2 := newTxEnv(t, stock)
	crashAfter(t, e2, r, 1)
	rc2 := e2.opts
	rc2.Origin, rc2.RecoverOwnCrash = "reconcile", true
	if _, err := Apply(context.Background(), r, rc2); !errors.Is(err, ErrCrashed) {
		t.Errorf("reconcile over an operator's crash: %v, want ErrCrashed", err)
	}
}

// Item 6, power loss: the "applied" mark is not fsync'd, so after a power
// loss it may be gone or empty. Neither bricks anything.
func TestPowerLossAppliedMark(t *testing.T) {
	for _, end := range []string{"empty", "torn", "lost"} {
		t.Run(end, func(t *testing.T) {
			e := newTxEnv(t, stock)
			before := tree(t, e.fs.Root())
			res, err := Apply(context.Background(), builtin(t, profiles.FailFast), e.opts)
			must(t, err)
			st := store{dir: e.opts.StateDir}
			mp := st.markPath(res.Transaction, TxApplied)
			switch end {
			case "empty":
				must(t, os.WriteFile(mp, nil, 0o644))
			case "torn":
				must(t, os.WriteFile(mp, []byte(`{"state":"appl`), 0o644))
			case "lost":
				must(t, os.Remove(mp))
			}
			s, err := LoadStatus(e.opts)
			must(t, err)
			wantCrashed := end == "lost"
			if (len(s.Crashed) == 1) != wantCrashed || len(s.Corrupt) != 0 {
				t.Errorf("status: crashed %v corrupt %v", s.Crashed, s.Corrupt)
			}
			if !wantCrashed && (len(s.Applied) == 0 || s.Drift) {
				t.Errorf("status after an emptied mark: applied %v drift %v", s.Applied, s.Drift)
			}
			_, err = Rollback(context.Background(), e.opts, "")
			must(t, err)
			if d := cmp.Diff(before, tree(t, e.fs.Root())); d != "" {
				t.Errorf("rollback did not restore:\n%s", d)
			}
			if _, err := Apply(context.Background(), builtin(t, profiles.FailFast), e.opts); err != nil {
				t.Errorf("apply afterwards: %v", err)
			}
		})
	}
}

// Item 6, corrupt record: an empty, truncated or torn record (or one a
// dying disk garbled) is reported, never used, never bricks the tool:
// status works, apply names the way out, rollback --baseline restores the
// originals, --resolve unblocks.
func TestCorruptRecordDoesNotBrick(t *testing.T) {
	damage := map[string]func([]byte) []byte{
		"empty":     func([]byte) []byte { return nil },
		"truncated": func(b []byte) []byte { return b[:len(b)/2] },
		"torn":      func(b []byte) []byte { c := append([]byte(nil), b...); copy(c[len(c)/3:], make([]byte, 512)); return c },
		"garbage":   func([]byte) []byte { return []byte("\x00\xff not json") },
	}
	for name, f := range damage {
		for _, way := range []string{"baseline", "resolve"} {
			t.Run(name+"/"+way, func(t *testing.T) {
				e := newTxEnv(t, stock)
				before := tree(t, e.fs.Root())
				r := builtin(t, profiles.FailFast)
				crashAfter(t, e, r, 3)
				st := store{dir: e.opts.StateDir}
				l, err := st.scan()
				must(t, err)
				p := st.path(l.entries[0].id)
				b, err := os.ReadFile(p)
				must(t, err)
				must(t, os.WriteFile(p, f(b), 0o644))

				s, err := LoadStatus(e.opts)
				if err != nil {
					t.Fatalf("status with a corrupt record: %v", err)
				}
				if len(s.Corrupt) != 1 || len(s.Crashed) != 1 {
					t.Errorf("status: corrupt %v crashed %v", s.Corrupt, s.Crashed)
				}
				_, err = Apply(context.Background(), r, e.opts)
				if !errors.Is(err, ErrCrashed) || !strings.Contains(err.Error(), "cannot be read") {
					t.Errorf("apply over a corrupt crashed record: %v", err)
				}
				_, err = Rollback(context.Background(), e.opts, "")
				if !errors.Is(err, ErrCorruptRecord) || !strings.Contains(err.Error(), "--baseline") {
					t.Errorf("rollback of a corrupt record: %v", err)
				}
				switch way {
				case "baseline":
					_, err := RollbackBaseline(context.Background(), e.opts)
					must(t, err)
					if d := cmp.Diff(before, tree(t, e.fs.Root())); d != "" {
						t.Errorf("baseline did not recover the originals:\n%s", d)
					}
				case "resolve":
					_, err := Resolve(context.Background(), e.opts, "")
					must(t, err)
				}
				if _, err := Apply(context.Background(), r, e.opts); err != nil {
					t.Errorf("apply after %s: %v", way, err)
				}
			})
		}
	}
}

// writeRecord stores a hand-made (tampered) record as the only one.
func writeRecord(t *testing.T, e *txEnv, body string, id string) {
	t.Helper()
	st := store{dir: e.opts.StateDir}
	must(t, st.ensure())
	body = strings.Replace(body, `"state":`, `"sysctl_root":"`+e.fs.Root()+`","state":`, 1) // applied here
	must(t, os.WriteFile(st.path(id), []byte(body), 0o644))
}

// Item 7: records are input. A tampered record is never used to write:
// kernel.core_pattern is outside the key policy, a seq that disagrees with
// the name or is huge, an unknown state, a persisted file elsewhere.
func TestTamperedRecords(t *testing.T) {
	id := "000001-20250102T030405Z"
	cases := map[string]string{
		"core_pattern": `{"format":2,"id":"` + id + `","seq":1,"state":"applying","originals":[{"key":"kernel.core_pattern","value":"|/tmp/evil","target":"core"}]}`,
		"seq-maxint":   `{"format":2,"id":"` + id + `","seq":9223372036854775807,"state":"applying","originals":[]}`,
		"unknown":      `{"format":2,"id":"` + id + `","seq":1,"state":"yolo","originals":[]}`,
		"persist":      `{"format":2,"id":"` + id + `","seq":1,"state":"applying","originals":[],"persist":{"path":"/etc/cron.d/90-tcptune.conf","exists":true,"content":"KiAqICogKiAqIHJvb3QgZXZpbAo=","changed":true}}`,
		"value-nl":     `{"format":2,"id":"` + id + `","seq":1,"state":"applying","originals":[{"key":"net.core.somaxconn","value":"1\n2","target":"5"}]}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			vals := map[string]string{"kernel.core_pattern": "core"}
			for k, v := range stock {
				vals[k] = v
			}
			e := newTxEnv(t, vals)
			before := tree(t, e.fs.Root())
			writeRecord(t, e, body, id)
			_, err := Rollback(context.Background(), e.opts, "")
			if name == "persist" {
				// Valid JSON and keys; the file is refused at restore time.
				if !errors.Is(err, ErrRestore) || !strings.Contains(err.Error(), "not restored") {
					t.Errorf("rollback of a record naming another file: %v", err)
				}
				if _, serr := os.Stat("/etc/cron.d/90-tcptune.conf"); serr == nil {
					t.Fatal("a file was written outside the persisted path")
				}
			} else if !errors.Is(err, ErrCorruptRecord) {
				t.Errorf("rollback of a tampered record: %v, want ErrCorruptRecord", err)
			}
			if d := cmp.Diff(before, tree(t, e.fs.Root())); d != "" {
				t.Errorf("a tampered record wrote:\n%s", d)
			}
			s, err := LoadStatus(e.opts)
			must(t, err)
			if name != "persist" && len(s.Corrupt) != 1 {
				t.Errorf("status does not report the tampered record: %+v", s.Corrupt)
			}
		})
	}
}

// Item 7: the sequence is bounded by the name; at the bound the next apply
// refuses instead of wrapping around.
func TestSequenceNeverWraps(t *testing.T) {
	e := newTxEnv(t, stock)
	st := store{dir: e.opts.StateDir}
	r := &Record{Format: recordFormat, ID: txIDFor(maxSeq, e.opts.Now()), Seq: maxSeq, State: TxApplying, Originals: []Original{}}
	must(t, st.create(r))
	must(t, st.setState(r, TxApplied, true))
	before := tree(t, e.fs.Root())
	_, err := Apply(context.Background(), builtin(t, profiles.FailFast), e.opts)
	if err == nil || !strings.Contains(err.Error(), "sequence exhausted") {
		t.Errorf("apply at the last sequence number: %v", err)
	}
	if d := cmp.Diff(before, tree(t, e.fs.Root())); d != "" {
		t.Errorf("written:\n%s", d)
	}
	if validTxID("9223372036854775807-20250102T030405Z") {
		t.Error("a 19-digit sequence is a valid id")
	}
	if math.MaxInt64 <= maxSeq {
		t.Fatal("maxSeq too large")
	}
}

// Item 7: a mark with an unknown state is not a state.
func TestUnknownMarkIgnored(t *testing.T) {
	e := newTxEnv(t, stock)
	res, err := Apply(context.Background(), builtin(t, profiles.FailFast), e.opts)
	must(t, err)
	st := store{dir: e.opts.StateDir}
	must(t, os.WriteFile(filepath.Join(st.txDir(), res.Transaction+".exploded"), nil, 0o644))
	s, err := LoadStatus(e.opts)
	must(t, err)
	if len(s.Transactions) != 1 || s.Transactions[0].State != TxApplied {
		t.Errorf("status: %+v", s.Transactions)
	}
}

// Item 6: format-1 records (state inside, rewritten in place) are read.
func TestOldFormatRecordRead(t *testing.T) {
	e := newTxEnv(t, stock)
	id := "000001-20250102T030405Z"
	writeRecord(t, e, `{"format":1,"id":"`+id+`","seq":1,"state":"applied","profiles":["x"],"originals":[{"key":"net.core.somaxconn","value":"4096","target":"5000"}]}`, id)
	must(t, e.fs.Write(sysctl.MustKey("net.core.somaxconn"), "5000"))
	s, err := LoadStatus(e.opts)
	must(t, err)
	if len(s.Crashed) != 0 || len(s.Applied) != 1 {
		t.Fatalf("old record: crashed %v applied %v", s.Crashed, s.Applied)
	}
	_, err = Rollback(context.Background(), e.opts, "")
	must(t, err)
	if v, _ := e.fs.Read(sysctl.MustKey("net.core.somaxconn")); v != "4096" {
		t.Errorf("somaxconn = %s after rolling back an old record", v)
	}
}

// Item 5: a FIFO where a file is expected never blocks: in a sysctl.d
// directory (skipped, like a dangling link), as sysctl.conf, named like a
// record, as the baseline, at the persisted path. A record linked to
// /dev/zero or larger than the limit is refused.
func TestFIFOsAndLinksNeverBlock(t *testing.T) {
	r := builtin(t, profiles.FailFast)
	t.Run("sysctl.d", func(t *testing.T) {
		e := newTxEnv(t, stock)
		d := e.opts.SearchDirs[2]
		must(t, os.MkdirAll(d, 0o755))
		must(t, syscall.Mkfifo(filepath.Join(d, "50-fifo.conf"), 0o644))
		must(t, os.Symlink(filepath.Join(d, "gone"), filepath.Join(d, "60-dangling.conf")))
		must(t, os.MkdirAll(filepath.Dir(e.opts.SysctlConf), 0o755))
		must(t, syscall.Mkfifo(e.opts.SysctlConf, 0o644))
		must(t, os.MkdirAll(filepath.Dir(e.opts.SearchDirs[1]), 0o755))
		must(t, syscall.Mkfifo(e.opts.SearchDirs[1], 0o644)) // a FIFO where a directory belongs
		within(t, "apply with a FIFO in sysctl.d", func() {
			res, err := Apply(context.Background(), r, e.opts)
			if err != nil {
				t.Errorf("apply: %v", err)
				return
			}
			w := strings.Join(res.Warnings, "\n")
			if !strings.Contains(w, "50-fifo.conf skipped") || !strings.Contains(w, "60-dangling.conf skipped") || !strings.Contains(w, "run/sysctl.d skipped") {
				t.Errorf("warnings do not name the skipped files: %v", res.Warnings)
			}
		})
	})
	t.Run("record", func(t *testing.T) {
		e := newTxEnv(t, stock)
		st := store{dir: e.opts.StateDir}
		must(t, st.ensure())
		must(t, syscall.Mkfifo(st.path("000001-20250102T030405Z"), 0o644))
		must(t, os.Symlink("/dev/zero", st.path("000002-20250102T030405Z")))
		big := make([]byte, maxRecordSize+1)
		must(t, os.WriteFile(st.path("000003-20250102T030405Z"), big, 0o644))
		within(t, "status/apply with a FIFO record", func() {
			s, err := LoadStatus(e.opts)
			if err != nil || len(s.Corrupt) != 3 {
				t.Errorf("status: %v, corrupt %+v", err, s)
			}
			if _, err := Apply(context.Background(), r, e.opts); !errors.Is(err, ErrCrashed) {
				t.Errorf("apply: %v, want ErrCrashed naming the record", err)
			}
		})
	})
	t.Run("state-dir", func(t *testing.T) {
		e := newTxEnv(t, stock)
		must(t, os.MkdirAll(e.opts.StateDir, 0o755))
		must(t, syscall.Mkfifo(filepath.Join(e.opts.StateDir, "tx"), 0o644))
		within(t, "status with a FIFO as the record directory", func() {
			if _, err := LoadStatus(e.opts); err == nil {
				t.Error("status read a FIFO as the record directory")
			}
		})
	})
	t.Run("baseline", func(t *testing.T) {
		// Not a brick either: moved aside, rebuilt, warned about.
		e := newTxEnv(t, stock)
		st := store{dir: e.opts.StateDir}
		must(t, st.ensure())
		must(t, syscall.Mkfifo(st.baselinePath(), 0o644))
		within(t, "apply with a FIFO baseline", func() {
			res, err := Apply(context.Background(), r, e.opts)
			if err != nil || !strings.Contains(strings.Join(res.Warnings, "\n"), "FIFO") {
				t.Errorf("apply: %v %v", err, res.Warnings)
			}
			if fi, err := os.Lstat(st.baselinePath() + ".corrupt"); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
				t.Errorf("the FIFO was not moved aside: %v", err)
			}
		})
	})
	t.Run("persisted", func(t *testing.T) {
		e := newTxEnv(t, stock)
		must(t, os.MkdirAll(e.opts.PersistDir, 0o755))
		must(t, syscall.Mkfifo(e.opts.PersistPath(), 0o644))
		within(t, "status/apply with a FIFO persisted file", func() {
			if _, err := LoadStatus(e.opts); err == nil {
				t.Error("status read a FIFO as the persisted file")
			}
			if _, err := Apply(context.Background(), r, e.opts); err == nil {
				t.Error("apply replaced a FIFO")
			}
		})
	})
}

// Item 10: what killed runs leave behind is swept under the lock, and no
// temp file is ever made outside the target's directory (not in /tmp).
func TestLitterSweptAndNoTmp(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	e := newTxEnv(t, stock)
	st := store{dir: e.opts.StateDir}
	must(t, st.ensure())
	must(t, os.MkdirAll(e.opts.PersistDir, 0o755))
	litter := []string{
		filepath.Join(e.opts.PersistDir, ".90-tcptune.conf8012345678"),
		filepath.Join(st.txDir(), ".000001-20250102T030405Z.json4711"),
		filepath.Join(st.txDir(), "000007-20250102T030405Z.applied"), // orphan mark
	}
	for _, p := range litter {
		must(t, os.WriteFile(p, []byte("partial"), 0o644))
	}
	keep := filepath.Join(e.opts.PersistDir, ".admin-notes")
	must(t, os.WriteFile(keep, nil, 0o644))
	_, err := Apply(context.Background(), builtin(t, profiles.FailFast), e.opts)
	must(t, err)
	_, err = Rollback(context.Background(), e.opts, "")
	must(t, err)
	for _, p := range litter {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s left behind", p)
		}
	}
	if _, err := os.Lstat(keep); err != nil {
		t.Errorf("a stranger's file was swept: %v", err)
	}
	if des, _ := os.ReadDir(tmp); len(des) != 0 {
		t.Errorf("temp files in $TMPDIR: %v", des)
	}
}

// A tampered baseline (a key outside the policy) is never restored from,
// and an undecodable one is rebuilt from the records.
func TestCorruptBaseline(t *testing.T) {
	e := newTxEnv(t, stock)
	before := tree(t, e.fs.Root())
	r := builtin(t, profiles.FailFast)
	_, err := Apply(context.Background(), r, e.opts)
	must(t, err)
	st := store{dir: e.opts.StateDir}
	good, err := os.ReadFile(st.baselinePath())
	must(t, err)
	tampered := strings.Replace(string(good), "net.ipv4.tcp_fin_timeout", "kernel.core_pattern", 1)
	must(t, os.WriteFile(st.baselinePath(), []byte(tampered), 0o644))
	if _, err := RollbackBaseline(context.Background(), e.opts); !errors.Is(err, errCorrupt) {
		t.Errorf("rollback --baseline from a tampered baseline: %v", err)
	}
	must(t, os.WriteFile(st.baselinePath(), []byte("{torn"), 0o644))
	res, err := Apply(context.Background(), profileFile(t, "name: q\nsettings:\n  net.core.somaxconn: 1234\n"), e.opts)
	must(t, err)
	if !strings.Contains(strings.Join(res.Warnings, "\n"), "rebuilt from the 1 records") {
		t.Errorf("warnings: %v", res.Warnings)
	}
	_, err = RollbackBaseline(context.Background(), e.opts)
	must(t, err)
	if d := cmp.Diff(before, tree(t, e.fs.Root())); d != "" {
		t.Errorf("the rebuilt baseline did not restore:\n%s", d)
	}
}
