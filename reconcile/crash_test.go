package reconcile

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcptune/tcptune/apply"
	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

// TestKilledCorrectionRecovers: a reconcile killed mid-correction (its
// goroutine stopped dead after the first write, as SIGKILL would) leaves
// its transaction "applying". The restarted reconcile rolls that back and
// enforces again, instead of logging "a crashed transaction must be rolled
// back first" every interval forever.
func TestKilledCorrectionRecovers(t *testing.T) {
	f := newFixture(t)
	ao := apply.Options{
		FS: f.fs, Netns: netns.Initial, StateDir: f.state, NoPersist: true,
		LockWait: 5 * time.Second, Version: "test", Origin: Origin, RecoverOwnCrash: true,
	}
	killed := ao
	killed.AfterWrite = func(i int, _ sysctl.Key) {
		if i == 1 {
			runtime.Goexit()
		}
	}
	done := make(chan struct{})
	go func() { defer close(done); apply.Apply(context.Background(), f.r, killed) }()
	<-done
	if _, err := apply.Apply(context.Background(), f.r, apply.Options{FS: f.fs, Netns: netns.Initial, StateDir: f.state, NoPersist: true}); !errors.Is(err, apply.ErrCrashed) {
		t.Fatalf("the kill left no crashed transaction: %v", err)
	}

	o := f.options(ModeEnforce)
	o.Apply = func(ctx context.Context, r *profiles.Resolved) (*apply.Result, error) { return apply.Apply(ctx, r, ao) }
	stop := start(t, o)
	f.await(t, "in sync")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := f.read(t, "net.core.somaxconn"); got != "65535" {
		t.Errorf("somaxconn = %s, not enforced after the recovery", got)
	}
	if got := f.read(t, "net.ipv4.tcp_syn_retries"); got != "3" {
		t.Errorf("tcp_syn_retries = %s", got)
	}
	st, err := apply.LoadStatus(ao)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Crashed) != 0 {
		t.Errorf("still crashed: %+v", st.Crashed)
	}
}

// TestDeadPIDIsNotRunning: a state file saying running for a process that
// is gone (killed without stopping cleanly) loads as not running, died.
func TestDeadPIDIsNotRunning(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no true(1)")
	}
	now := time.Now()
	s := &State{Running: true, PID: cmd.Process.Pid, Interval: "30s", LastCheck: &now}
	if err := WriteState(filepath.Join(dir, StateFileName), s); err != nil {
		t.Fatal(err)
	}
	got, err := LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Running || !got.Died {
		t.Errorf("dead pid %d: running %v died %v", s.PID, got.Running, got.Died)
	}
	s.PID = os.Getpid()
	if err := WriteState(filepath.Join(dir, StateFileName), s); err != nil {
		t.Fatal(err)
	}
	if got, _ := LoadState(dir); !got.Running || got.Died {
		t.Errorf("live pid: running %v died %v", got.Running, got.Died)
	}
	if des, _ := os.ReadDir(dir); len(des) != 1 {
		t.Errorf("temp files left next to the state: %v", des)
	}
}

// TestStateFIFONeverBlocks: a FIFO named reconcile.json is refused, not
// waited on.
func TestStateFIFONeverBlocks(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, StateFileName), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := LoadState(dir); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "FIFO") {
			t.Errorf("LoadState of a FIFO: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("LoadState blocked on a FIFO")
	}
}
