package cli

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// snapshotTree maps every file under dir to its bytes.
func snapshotTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// signalAt runs 'apply fail-fast' paused after write k and sends sig. It
// returns false when the apply finished without pausing (k is past the
// last write), else the exit status and stderr.
func signalAt(t *testing.T, bin, dir string, k int, sig syscall.Signal) (paused bool, code int, stderr string) {
	t.Helper()
	args := append([]string{"apply", "fail-fast"}, append(txDirs(dir), persistFlags(dir)...)...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", envPauseAfterWrite, k), envNoJournal+"=1")
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	var errb strings.Builder
	sc := bufio.NewScanner(pipe)
	for sc.Scan() {
		errb.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), fmt.Sprintf("paused after write %d ", k)) {
			paused = true
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
		}
	}
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			t.Fatalf("k=%d %v: tcptune died of %v mid-transaction\n%s", k, sig, ws.Signal(), errb.String())
		}
	}
	return paused, code, errb.String()
}

// TestSignalsRollBackAtEveryWrite: SIGHUP (a dropped SSH session),
// SIGQUIT, SIGINT and SIGTERM after every write of a transaction: the
// process never dies mid-transaction; it restores every key byte for byte,
// leaves no persisted file, exits 1, and the next apply is not blocked.
func TestSignalsRollBackAtEveryWrite(t *testing.T) {
	bin := buildTcptune(t)
	sigs := []syscall.Signal{syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGINT, syscall.SIGTERM}
	points := 0
	for k := 1; ; k++ {
		last := false
		for _, sig := range sigs {
			dir := t.TempDir()
			writeFakeRoot(t, filepath.Join(dir, "proc"), nil)
			before := snapshotTree(t, filepath.Join(dir, "proc"))
			paused, code, errs := signalAt(t, bin, dir, k, sig)
			if !paused {
				last = true
				break
			}
			if code != ExitError || !strings.Contains(errs, "interrupted") || !strings.Contains(errs, "every key written was restored") {
				t.Errorf("k=%d %v: exit %d\n%s", k, sig, code, errs)
			}
			if d := cmp.Diff(before, snapshotTree(t, filepath.Join(dir, "proc"))); d != "" {
				t.Errorf("k=%d %v: not restored (-before +after):\n%s", k, sig, d)
			}
			if _, err := os.Stat(filepath.Join(dir, "etc/sysctl.d/90-tcptune.conf")); !os.IsNotExist(err) {
				t.Errorf("k=%d %v: persisted file left: %v", k, sig, err)
			}
			if code, out, errs := run(t, append([]string{"apply", "fail-fast"}, append(txDirs(dir), persistFlags(dir)...)...)...); code != 0 {
				t.Errorf("k=%d %v: the next apply: exit %d\n%s%s", k, sig, code, out, errs)
			}
		}
		if last {
			break
		}
		points++
	}
	if points < 3 {
		t.Fatalf("only %d write points exercised", points)
	}
}

// TestSignalWhileWaitingForLock: a signal while apply waits for the lock
// ends the wait at once; nothing is written.
func TestSignalWhileWaitingForLock(t *testing.T) {
	bin := buildTcptune(t)
	dir := t.TempDir()
	writeFakeRoot(t, filepath.Join(dir, "proc"), nil)
	before := snapshotTree(t, filepath.Join(dir, "proc"))
	state := filepath.Join(dir, "state")
	if err := os.MkdirAll(state, 0o755); err != nil {
		t.Fatal(err)
	}
	lf, err := os.OpenFile(filepath.Join(state, "lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"apply", "fail-fast", "--lock-wait", "60s"}, append(txDirs(dir), persistFlags(dir)...)...)...)
	var errb strings.Builder
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGHUP)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("apply kept waiting for the lock after SIGHUP")
	}
	if cmd.ProcessState.ExitCode() != ExitError || time.Since(start) > 5*time.Second {
		t.Errorf("exit %d after %v\n%s", cmd.ProcessState.ExitCode(), time.Since(start), errb.String())
	}
	if d := cmp.Diff(before, snapshotTree(t, filepath.Join(dir, "proc"))); d != "" {
		t.Errorf("written while waiting for the lock:\n%s", d)
	}
}

// TestClosedStdoutAfterCommit: 'tcptune apply P | head -1' - the reader
// goes away; the committed transaction's exit status (0) stands, it is not
// 141 (SIGPIPE).
func TestClosedStdoutAfterCommit(t *testing.T) {
	bin := buildTcptune(t)
	for _, out := range []string{"text", "json"} {
		dir := t.TempDir()
		writeFakeRoot(t, filepath.Join(dir, "proc"), nil)
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
		cmd := exec.Command(bin, append([]string{"apply", "fail-fast", "-o", out}, append(txDirs(dir), persistFlags(dir)...)...)...)
		cmd.Env = append(os.Environ(), envNoJournal+"=1")
		cmd.Stdout = w
		err = cmd.Run()
		w.Close()
		if err != nil {
			t.Errorf("-o %s with a closed stdout: %v (want exit 0 after a committed transaction)", out, err)
		}
		if code, so, se := run(t, append([]string{"status"}, txDirs(dir)...)...); code != 0 || !strings.Contains(so, "applied") {
			t.Errorf("-o %s: status exit %d:\n%s%s", out, code, so, se)
		}
	}
}

// TestRollbackBaselineCLI: a record a dying disk emptied is reported by
// status, apply names the way out, and 'rollback --baseline' restores the
// pre-tcptune values.
func TestRollbackBaselineCLI(t *testing.T) {
	bin := buildTcptune(t)
	dir := t.TempDir()
	writeFakeRoot(t, filepath.Join(dir, "proc"), nil)
	before := snapshotTree(t, filepath.Join(dir, "proc"))
	// Crash mid-apply (SIGKILL after write 2), then empty the record.
	args := append([]string{"apply", "fail-fast"}, append(txDirs(dir), persistFlags(dir)...)...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), envPauseAfterWrite+"=2", envNoJournal+"=1")
	pipe, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(pipe)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "paused after write 2") {
			_ = cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	_ = cmd.Wait()
	recs, _ := filepath.Glob(filepath.Join(dir, "state/tx/0*.json"))
	if len(recs) != 1 {
		t.Fatalf("records: %v", recs)
	}
	if err := os.WriteFile(recs[0], nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, append([]string{"status"}, txDirs(dir)...)...)
	if code != ExitChanges || !strings.Contains(out, "CORRUPT") {
		t.Errorf("status with a corrupt record: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = run(t, append([]string{"status", "-o", "json"}, txDirs(dir)...)...)
	if code != ExitChanges {
		t.Errorf("status -o json with a corrupt record: exit %d\n%s", code, errs)
	}
	conform(t, schemas(t), "status", "status (corrupt record)", out)
	code, out, _ = run(t, append([]string{"status", "-o", "prometheus"}, txDirs(dir)...)...)
	if code != ExitChanges || !strings.Contains(out, "tcptune_corrupt_records 1\n") {
		t.Errorf("status -o prometheus with a corrupt record: exit %d\n%s", code, out)
	}
	checkExposition(t, out)
	code, _, errs = run(t, args...)
	if code != ExitError || !strings.Contains(errs, "rollback --baseline") {
		t.Errorf("apply over a corrupt record: exit %d\n%s", code, errs)
	}
	code, out, errs = run(t, append([]string{"rollback", "--baseline"}, append(txDirs(dir), persistFlags(dir)...)...)...)
	if code != 0 {
		t.Fatalf("rollback --baseline: exit %d\n%s%s", code, out, errs)
	}
	if d := cmp.Diff(before, snapshotTree(t, filepath.Join(dir, "proc"))); d != "" {
		t.Errorf("rollback --baseline did not restore:\n%s", d)
	}
	if code, _, errs := run(t, args...); code != 0 {
		t.Errorf("apply after rollback --baseline: exit %d\n%s", code, errs)
	}
}

// TestReconcileStopsOnEverySignal: SIGINT, SIGTERM, SIGHUP and SIGQUIT
// stop reconcile cleanly: exit 0, and its state says not running (a SIGHUP
// used to leave "running: true" for a dead pid).
func TestReconcileStopsOnEverySignal(t *testing.T) {
	bin := buildTcptune(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT} {
		dir := t.TempDir()
		writeFakeRoot(t, filepath.Join(dir, "proc"), nil)
		cmd := exec.Command(bin, append([]string{"reconcile", "fail-fast", "--interval", "100ms"}, append(txDirs(dir), persistFlags(dir)...)...)...)
		cmd.Env = append(os.Environ(), envNoJournal+"=1", "NOTIFY_SOCKET=")
		var errb strings.Builder
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		statePath := filepath.Join(dir, "state", "reconcile.json")
		deadline := time.Now().Add(20 * time.Second)
		for {
			if b, err := os.ReadFile(statePath); err == nil && strings.Contains(string(b), `"checks": 2`) {
				break
			}
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("%v: reconcile never checked twice\n%s", sig, errb.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		_ = cmd.Process.Signal(sig)
		if err := cmd.Wait(); err != nil {
			t.Errorf("%v: reconcile exit: %v\n%s", sig, err, errb.String())
		}
		b, _ := os.ReadFile(statePath)
		if !strings.Contains(string(b), `"running": false`) {
			t.Errorf("%v: state after stop:\n%s", sig, b)
		}
	}
}
