package apply

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

// TestFaultEveryWritePosition makes write k fail, and separately makes the
// "kernel" rewrite the value of write k, for every built-in profile and
// every k: every key must end byte-identical to its original, the persisted
// file must not appear, and the transaction must be recorded as failed.
func TestFaultEveryWritePosition(t *testing.T) {
	for _, name := range []string{profiles.HighConcurrency, profiles.FailFast, profiles.SynFlood} {
		r := builtin(t, name)
		probe := newTxEnv(t, stock)
		plan, err := NewPlan(r, probe.fs, netns.Initial)
		must(t, err)
		n := len(plan.ToSet())
		if n < 2 {
			t.Fatalf("%s: only %d keys to set on the stock tree; the test would prove little", name, n)
		}
		for _, mode := range []string{"fail", "rewrite"} {
			for k := 1; k <= n; k++ {
				e := newTxEnv(t, stock)
				before := tree(t, e.fs.Root())
				fio := &faultIO{FS: e.fs}
				if mode == "fail" {
					fio.failAt = k
				} else {
					fio.rewriteAt = k
				}
				e.opts.IO = fio
				res, err := Apply(context.Background(), r, e.opts)
				var te *TxError
				if !errors.As(err, &te) {
					t.Fatalf("%s %s at %d: err = %v, want *TxError", name, mode, k, err)
				}
				want := plan.ToSet()[k-1].Key
				if te.Key != want || !te.Restored {
					t.Errorf("%s %s at %d: TxError key %s restored %v, want key %s restored", name, mode, k, te.Key, te.Restored, want)
				}
				if mode == "fail" && !errors.Is(err, sysctl.ErrRejected) {
					t.Errorf("%s fail at %d: %v does not wrap ErrRejected", name, k, err)
				}
				if mode == "rewrite" && !errors.Is(err, ErrReadBack) {
					t.Errorf("%s rewrite at %d: %v does not wrap ErrReadBack", name, k, err)
				}
				if !res.Failed {
					t.Errorf("%s %s at %d: result not marked failed", name, mode, k)
				}
				if d := cmp.Diff(before, tree(t, e.fs.Root())); d != "" {
					t.Errorf("%s %s at %d: sysctl tree not restored byte for byte (-before +after):\n%s", name, mode, k, d)
				}
				if _, err := os.Stat(e.opts.PersistPath()); !os.IsNotExist(err) {
					t.Errorf("%s %s at %d: persisted file exists after a failed apply", name, mode, k)
				}
				rec, err := store{dir: e.opts.StateDir}.loadID(te.Transaction)
				must(t, err)
				if rec.State != TxFailed || !strings.Contains(rec.Error, want.String()) {
					t.Errorf("%s %s at %d: record state %s error %q", name, mode, k, rec.State, rec.Error)
				}
				// The writes were in plan order up to k, then the restore in
				// reverse: k, k-1, ..., 1 (only those that changed).
				if got := fio.writes[:k]; !keysEqual(got, plan.ToSet()[:k]) {
					t.Errorf("%s %s at %d: write order %v", name, mode, k, got)
				}
			}
		}
	}
}

func keysEqual(ks []sysctl.Key, cs []Change) bool {
	if len(ks) != len(cs) {
		return false
	}
	for i := range ks {
		if ks[i] != cs[i].Key {
			return false
		}
	}
	return true
}

// TestApplyPersistRollback: a whole apply, its record and persisted file,
// then a rollback that restores the originals and removes the file.
func TestApplyPersistRollback(t *testing.T) {
	e := newTxEnv(t, stock)
	before := tree(t, e.fs.Root())
	res, err := Apply(context.Background(), builtin(t, profiles.FailFast), e.opts)
	must(t, err)
	if !res.Changed || res.Failed || res.Transaction == "" {
		t.Fatalf("result %+v", res)
	}
	got, err := e.fs.Read(sysctl.MustKey("net.ipv4.tcp_syn_retries"))
	must(t, err)
	if got != "3" {
		t.Errorf("tcp_syn_retries = %q, want 3", got)
	}
	b, err := os.ReadFile(e.opts.PersistPath())
	must(t, err)
	st, err := os.Stat(e.opts.PersistPath())
	must(t, err)
	if st.Mode().Perm() != 0o644 {
		t.Errorf("persisted file mode %v, want 0644", st.Mode().Perm())
	}
	for _, want := range []string{ownedHeader, "# profiles: fail-fast", "# tcptune-version: test", "net.ipv4.tcp_syn_retries = 3\n", "net.ipv4.tcp_keepalive_time = 600\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("persisted file lacks %q:\n%s", want, b)
		}
	}
	if res.Persisted == nil || !res.Persisted.Written || len(res.Persisted.OverriddenBy) != 0 {
		t.Errorf("persisted %+v", res.Persisted)
	}

	// Same profile again: nothing changes, no new transaction.
	res2, err := Apply(context.Background(), builtin(t, profiles.FailFast), e.opts)
	must(t, err)
	if res2.Changed || res2.Transaction != "" {
		t.Errorf("second apply changed=%v tx=%q, want no change", res2.Changed, res2.Transaction)
	}

	st2, err := LoadStatus(e.opts)
	must(t, err)
	if st2.Drift || len(st2.Applied) != 6 || len(st2.Crashed) != 0 {
		t.Errorf("status %+v", st2)
	}
	// Drift: someone changes a key.
	must(t, e.fs.Write(sysctl.MustKey("net.ipv4.tcp_fin_timeout"), "30"))
	st3, err := LoadStatus(e.opts)
	must(t, err)
	if !st3.Drift {
		t.Error("status misses drift of tcp_fin_timeout")
	}
	must(t, e.fs.Write(sysctl.MustKey("net.ipv4.tcp_fin_timeout"), "15"))

	rb, err := Rollback(context.Background(), e.opts, "")
	must(t, err)
	if !rb.Changed || len(rb.Transactions) != 1 || rb.Transactions[0] != res.Transaction {
		t.Errorf("rollback %+v", rb)
	}
	if d := cmp.Diff(before, tree(t, e.fs.Root())); d != "" {
		t.Errorf("rollback did not restore the tree (-before +after):\n%s", d)
	}
	if _, err := os.Stat(e.opts.PersistPath()); !os.IsNotExist(err) {
		t.Errorf("rollback left the persisted file: %v", err)
	}
	if _, err := Rollback(context.Background(), e.opts, ""); !errors.Is(err, ErrNoTransaction) {
		t.Errorf("second rollback: %v, want ErrNoTransaction", err)
	}
}

// TestRollbackTo stacks two transactions and rolls both back with --to the
// first; the persisted file returns to its pre-existing foreign content.
func TestRollbackTo(t *testing.T) {
	e := newTxEnv(t, stock)
	must(t, os.MkdirAll(e.opts.PersistDir, 0o755))
	must(t, os.WriteFile(e.opts.PersistPath(), []byte("# hand-written\nnet.core.somaxconn = 100\n"), 0o600))
	before := tree(t, e.dir)
	delete(before, filepath.Join(e.opts.StateDir, "lock"))
	r1, err := Apply(context.Background(), builtin(t, profiles.FailFast), e.opts)
	must(t, err)
	if len(r1.Warnings) == 0 {
		t.Error("no warning about replacing a file tcptune did not write")
	}
	r2, err := Apply(context.Background(), builtin(t, profiles.SynFlood), e.opts)
	must(t, err)
	b, err := os.ReadFile(e.opts.PersistPath())
	must(t, err)
	if !strings.Contains(string(b), "# profiles: fail-fast, syn-flood") || !strings.Contains(string(b), "net.ipv4.tcp_keepalive_time = 600") ||
		!strings.Contains(string(b), "net.ipv4.tcp_synack_retries = 2") {
		t.Errorf("merged persisted file:\n%s", b)
	}
	rb, err := Rollback(context.Background(), e.opts, r1.Transaction)
	must(t, err)
	if d := cmp.Diff([]string{r2.Transaction, r1.Transaction}, rb.Transactions); d != "" {
		t.Errorf("rolled back (-want +got):\n%s", d)
	}
	after := tree(t, e.dir)
	for p := range after {
		if strings.HasPrefix(p, e.opts.StateDir) {
			delete(after, p)
		}
	}
	if d := cmp.Diff(before, after); d != "" {
		t.Errorf("not restored (-before +after):\n%s", d)
	}
	st, err := os.Stat(e.opts.PersistPath())
	must(t, err)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("restored mode %v, want the original 0600", st.Mode().Perm())
	}
}

// TestDryRunWritesNothing: no state, no persisted file, no key.
func TestDryRunWritesNothing(t *testing.T) {
	e := newTxEnv(t, stock)
	before := tree(t, e.dir)
	e.opts.DryRun = true
	res, err := Apply(context.Background(), builtin(t, profiles.HighConcurrency, profiles.FailFast), e.opts)
	must(t, err)
	if !res.Changed || !res.DryRun || res.Transaction != "" || res.Persisted == nil || !res.Persisted.Written {
		t.Errorf("dry run result %+v", res)
	}
	if d := cmp.Diff(before, tree(t, e.dir)); d != "" {
		t.Errorf("dry run wrote (-before +after):\n%s", d)
	}
}

// TestSymlinkNotFollowed: a persisted path that is a symlink is replaced,
// its target untouched, and rollback puts the link back.
func TestSymlinkNotFollowed(t *testing.T) {
	e := newTxEnv(t, stock)
	target := filepath.Join(e.dir, "elsewhere.conf")
	must(t, os.WriteFile(target, []byte("precious\n"), 0o644))
	must(t, os.MkdirAll(e.opts.PersistDir, 0o755))
	must(t, os.Symlink(target, e.opts.PersistPath()))
	_, err := Apply(context.Background(), builtin(t, profiles.FailFast), e.opts)
	must(t, err)
	if b, _ := os.ReadFile(target); string(b) != "precious\n" {
		t.Errorf("symlink target written through: %q", b)
	}
	if st, _ := os.Lstat(e.opts.PersistPath()); !st.Mode().IsRegular() {
		t.Errorf("persisted path is %v, want a regular file", st.Mode())
	}
	_, err = Rollback(context.Background(), e.opts, "")
	must(t, err)
	if l, err := os.Readlink(e.opts.PersistPath()); err != nil || l != target {
		t.Errorf("rollback: link %q, %v; want %q", l, err, target)
	}
}

// TestRefuseLineInjection: a value that would add a line to the persisted
// file (built by a cast, bypassing the profile decoder) is refused before
// anything is written.
func TestRefuseLineInjection(t *testing.T) {
	e := newTxEnv(t, stock)
	before := tree(t, e.dir)
	r := builtin(t, profiles.FailFast)
	r.Settings[0].Value = sysctl.Value("3\nkernel.core_pattern = |/tmp/x")
	_, err := Apply(context.Background(), r, e.opts)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	if d := cmp.Diff(before, tree(t, e.dir)); d != "" {
		t.Errorf("refused apply wrote (-before +after):\n%s", d)
	}
	// And a key can only be built through ParseKey, which refuses the same.
	if _, err := sysctl.ParseKey("net.core.somaxconn\nkernel.x"); err == nil {
		t.Error("ParseKey accepted a line break")
	}
	if err := checkLine(sysctl.MustKey("net.core.somaxconn"), "1 = 2"); err != nil {
		t.Errorf("an '=' inside a value stays on its line and is allowed: %v", err)
	}
}

// TestAbsentAndReadOnlyRefused: nothing is written when a key is missing
// or read-only here.
func TestAbsentAndReadOnlyRefused(t *testing.T) {
	vals := maps.Clone(stock)
	delete(vals, "net.ipv4.tcp_keepalive_probes")
	e := newTxEnv(t, vals)
	before := tree(t, e.dir)
	_, err := Apply(context.Background(), builtin(t, profiles.FailFast), e.opts)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "tcp_keepalive_probes") {
		t.Errorf("absent key: err = %v", err)
	}
	e2 := newTxEnv(t, stock)
	must(t, os.Chmod(filepath.Join(e2.fs.Root(), "net/ipv4/tcp_fin_timeout"), 0o444))
	_, err = Apply(context.Background(), builtin(t, profiles.FailFast), e2.opts)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "tcp_fin_timeout") {
		t.Errorf("read-only key: err = %v", err)
	}
	if d := cmp.Diff(before, tree(t, e.dir)); d != "" {
		t.Errorf("refused apply wrote:\n%s", d)
	}
}

// TestHostWideSkippedInChildNetns: rmem_max & co are visible in a
// container but never written; netdev_max_backlog is absent there.
func TestHostWideSkippedInChildNetns(t *testing.T) {
	vals := maps.Clone(stock)
	delete(vals, "net.core.netdev_max_backlog")
	e := newTxEnv(t, vals)
	e.opts.Netns = netns.Child
	fio := &faultIO{FS: e.fs}
	e.opts.IO = fio
	res, err := Apply(context.Background(), builtin(t, profiles.HighConcurrency), e.opts)
	must(t, err)
	hw := map[string]bool{}
	for _, s := range res.Settings {
		if s.Action == ActionHostWide {
			hw[s.Key.String()] = true
		}
	}
	for _, k := range []string{"net.core.netdev_max_backlog", "net.core.rmem_max", "net.core.wmem_max"} {
		if !hw[k] {
			t.Errorf("%s not reported host-wide: %v", k, hw)
		}
	}
	for _, k := range fio.writes {
		if hw[k.String()] {
			t.Errorf("host-wide key %s was written", k)
		}
	}
	b, _ := os.ReadFile(e.opts.PersistPath())
	if strings.Contains(string(b), "rmem_max") {
		t.Errorf("host-wide key persisted from a container:\n%s", b)
	}
}
