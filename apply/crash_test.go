package apply

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

// crashAfter runs Apply and stops its goroutine dead after write k, the way
// a SIGKILL would: no restore, no final record (deferred lock release
// stands in for the kernel dropping the flock of a dead process).
func crashAfter(t *testing.T, e *txEnv, r *profiles.Resolved, k int) {
	t.Helper()
	o := e.opts
	o.AfterWrite = func(i int, _ sysctl.Key) {
		if i == k {
			runtime.Goexit()
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Apply(context.Background(), r, o)
		t.Errorf("apply returned; the crash hook did not fire at write %d", k)
	}()
	<-done
}

// TestCrashThenRollback: for every write position, a crash leaves the
// record "applying"; status reports it, apply refuses, rollback restores
// every original byte for byte, and apply works again.
func TestCrashThenRollback(t *testing.T) {
	r := builtin(t, profiles.HighConcurrency)
	probe := newTxEnv(t, stock)
	plan, err := NewPlan(r, probe.fs, netns.Initial)
	must(t, err)
	n := len(plan.ToSet())
	for k := 1; k <= n; k++ {
		e := newTxEnv(t, stock)
		before := tree(t, e.fs.Root())
		crashAfter(t, e, r, k)
		if d := cmp.Diff(before, tree(t, e.fs.Root())); d == "" {
			t.Fatalf("k=%d: crash left nothing written; the test proves nothing", k)
		}
		st, err := LoadStatus(e.opts)
		must(t, err)
		if len(st.Crashed) != 1 || st.Crashed[0].State != TxApplying {
			t.Fatalf("k=%d: status crashed = %+v", k, st.Crashed)
		}
		if _, err := Apply(context.Background(), r, e.opts); !errors.Is(err, ErrCrashed) {
			t.Fatalf("k=%d: apply after crash: %v, want ErrCrashed", k, err)
		}
		rb, err := Rollback(context.Background(), e.opts, "")
		must(t, err)
		if len(rb.Transactions) != 1 {
			t.Errorf("k=%d: rolled back %v", k, rb.Transactions)
		}
		if d := cmp.Diff(before, tree(t, e.fs.Root())); d != "" {
			t.Errorf("k=%d: rollback after crash did not restore (-before +after):\n%s", k, d)
		}
		if _, err := Apply(context.Background(), r, e.opts); err != nil {
			t.Errorf("k=%d: apply after rollback: %v", k, err)
		}
	}
}

// TestResolveCrashed: --resolve keeps live values and unblocks apply.
func TestResolveCrashed(t *testing.T) {
	e := newTxEnv(t, stock)
	r := builtin(t, profiles.FailFast)
	crashAfter(t, e, r, 2)
	id, err := Resolve(context.Background(), e.opts, "")
	must(t, err)
	if !strings.HasPrefix(id, "000001-") {
		t.Errorf("resolved %q", id)
	}
	if _, err := Apply(context.Background(), r, e.opts); err != nil {
		t.Errorf("apply after resolve: %v", err)
	}
}

// TestConcurrentApplies: 50 applies of two profiles setting the same keys
// to different values, at once. The lock serialises them: the final state
// is exactly one profile's, and every record is readable.
func TestConcurrentApplies(t *testing.T) {
	e := newTxEnv(t, stock)
	a := profileFile(t, "name: a\nsettings:\n  net.core.somaxconn: 1111\n  net.ipv4.tcp_fin_timeout: 11\n  net.ipv4.tcp_syn_retries: 1\n")
	b := profileFile(t, "name: b\nsettings:\n  net.core.somaxconn: 2222\n  net.ipv4.tcp_fin_timeout: 22\n  net.ipv4.tcp_syn_retries: 2\n")
	e.opts.LockWait = 60e9
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := a
			if i%2 == 1 {
				r = b
			}
			if _, err := Apply(context.Background(), r, e.opts); err != nil {
				errs <- fmt.Errorf("apply %d: %w", i, err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	live := map[string]sysctl.Value{}
	for _, k := range []string{"net.core.somaxconn", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_syn_retries"} {
		v, err := e.fs.Read(sysctl.MustKey(k))
		must(t, err)
		live[k] = v
	}
	wantA := map[string]sysctl.Value{"net.core.somaxconn": "1111", "net.ipv4.tcp_fin_timeout": "11", "net.ipv4.tcp_syn_retries": "1"}
	wantB := map[string]sysctl.Value{"net.core.somaxconn": "2222", "net.ipv4.tcp_fin_timeout": "22", "net.ipv4.tcp_syn_retries": "2"}
	if !cmp.Equal(live, wantA) && !cmp.Equal(live, wantB) {
		t.Errorf("final state %v is neither profile", live)
	}
	st, err := LoadStatus(e.opts)
	must(t, err)
	if st.Drift || len(st.Crashed) != 0 {
		t.Errorf("status after concurrent applies: drift %v crashed %v", st.Drift, st.Crashed)
	}
	recs, err := store{dir: e.opts.StateDir}.list()
	must(t, err)
	for i, r := range recs {
		if r.Seq != i+1 || r.State != TxApplied {
			t.Errorf("record %d: seq %d state %s", i, r.Seq, r.State)
		}
	}
	// The persisted file holds the winner's values.
	pf, err := os.ReadFile(e.opts.PersistPath())
	must(t, err)
	if !strings.Contains(string(pf), "net.core.somaxconn = "+string(live["net.core.somaxconn"])) {
		t.Errorf("persisted file does not match live %v:\n%s", live, pf)
	}
}

// TestPersistCrashBeforeRename: a crash between writing the temp file and
// the rename leaves the old file intact, and the apply rolls back.
func TestPersistCrashBeforeRename(t *testing.T) {
	e := newTxEnv(t, stock)
	_, err := Apply(context.Background(), builtin(t, profiles.SynFlood), e.opts)
	must(t, err)
	old, err := os.ReadFile(e.opts.PersistPath())
	must(t, err)
	keysBefore := tree(t, e.fs.Root())
	var sawTemp bool
	beforeRename = func(tmp string) error {
		b, err := os.ReadFile(tmp)
		cur, err2 := os.ReadFile(e.opts.PersistPath())
		sawTemp = err == nil && err2 == nil && strings.Contains(string(b), "tcp_keepalive_time = 600") && string(cur) == string(old)
		return errors.New("simulated crash before rename")
	}
	defer func() { beforeRename = nil }()
	_, err = Apply(context.Background(), builtin(t, profiles.FailFast), e.opts)
	if err == nil {
		t.Fatal("apply succeeded through a crash before rename")
	}
	if !sawTemp {
		t.Error("the temp file was not complete, or the old file had changed, before the rename")
	}
	cur, err := os.ReadFile(e.opts.PersistPath())
	must(t, err)
	if string(cur) != string(old) {
		t.Errorf("persisted file changed:\n%s\nwant:\n%s", cur, old)
	}
	if d := cmp.Diff(keysBefore, tree(t, e.fs.Root())); d != "" {
		t.Errorf("keys not rolled back:\n%s", d)
	}
	entries, _ := os.ReadDir(filepath.Dir(e.opts.PersistPath()))
	if len(entries) != 1 {
		t.Errorf("persist dir holds %d entries (temp file left?)", len(entries))
	}
}

// TestInterruptRollsBack: a cancelled context (SIGINT/SIGTERM in the CLI)
// between writes restores every written key.
func TestInterruptRollsBack(t *testing.T) {
	e := newTxEnv(t, stock)
	before := tree(t, e.fs.Root())
	ctx, cancel := context.WithCancel(context.Background())
	e.opts.AfterWrite = func(i int, _ sysctl.Key) {
		if i == 3 {
			cancel()
		}
	}
	_, err := Apply(ctx, builtin(t, profiles.HighConcurrency), e.opts)
	var te *TxError
	if !errors.As(err, &te) || !te.Restored || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want a restored TxError wrapping context.Canceled", err)
	}
	if d := cmp.Diff(before, tree(t, e.fs.Root())); d != "" {
		t.Errorf("interrupt did not restore:\n%s", d)
	}
}
