package cli

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcptune/tcptune/internal/nstest"
	"github.com/tcptune/tcptune/reconcile"
	"github.com/tcptune/tcptune/sysctl"
	"github.com/tcptune/tcptune/systemd"
)

const reconcileProfile = `name: rc
description: reconcile kernel test (per-namespace keys only)
settings:
  net.core.somaxconn:
    value: 8192
    op: at-least
  net.ipv4.tcp_syn_retries:
    value: 3
    op: at-most
`

// notifyListener is the test's stand-in for systemd's notify socket.
type notifyListener struct {
	path string
	conn *net.UnixConn
	seen []string
}

func listenNotify(t *testing.T) *notifyListener {
	t.Helper()
	p := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &notifyListener{path: p, conn: c}
}

// await returns the first datagram containing want, within 15 s.
func (n *notifyListener) await(t *testing.T, want string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	buf := make([]byte, 4096)
	for {
		n.conn.SetReadDeadline(deadline)
		k, err := n.conn.Read(buf)
		if err != nil {
			t.Fatalf("no sd_notify datagram containing %q (%v); seen:\n%s", want, err, strings.Join(n.seen, "\n--\n"))
		}
		msg := string(buf[:k])
		n.seen = append(n.seen, msg)
		if strings.Contains(msg, want) {
			return msg
		}
	}
}

// startReconcile runs `tcptune reconcile` as a child process (the test
// binary under the name tcptune, set up by testscript.Main) with
// NOTIFY_SOCKET pointing at the test's socket.
func startReconcile(t *testing.T, ctx context.Context, n *notifyListener, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	bin, err := exec.LookPath("tcptune")
	if err != nil {
		t.Fatalf("tcptune test command not in PATH: %v", err)
	}
	cmd := exec.CommandContext(ctx, bin, append([]string{"reconcile"}, args...)...)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+n.path, envNoJournal+"=1", "WATCHDOG_USEC=2000000", "WATCHDOG_PID=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill() // only the process this test started
			cmd.Wait()
		}
	})
	return cmd, &out
}

// stopReconcile sends SIGTERM to the child by PID and expects STOPPING=1
// and exit status 0.
func stopReconcile(t *testing.T, cmd *exec.Cmd, out *bytes.Buffer, n *notifyListener) {
	t.Helper()
	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	msg := n.await(t, "STOPPING=1")
	if !strings.Contains(msg, "profile left applied") {
		t.Errorf("STOPPING message = %q", msg)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("reconcile did not exit 0 on SIGTERM: %v\n%s", err, out)
	}
}

// reconcileSetup writes reconcileProfile into a temp dir and returns it
// with the live tree and a reader of its somaxconn (kernel tests only: the
// caller is in a private network namespace).
func reconcileSetup(t *testing.T) (dir, prof string, fs *sysctl.FS, somaxconn sysctl.Key, read func() string) {
	t.Helper()
	dir = t.TempDir()
	prof = filepath.Join(dir, "rc.yaml")
	if err := os.WriteFile(prof, []byte(reconcileProfile), 0o644); err != nil {
		t.Fatal(err)
	}
	fs = sysctl.NewFS("")
	somaxconn = sysctl.MustKey("net.core.somaxconn")
	read = func() string {
		v, err := fs.Read(somaxconn)
		if err != nil {
			t.Fatal(err)
		}
		return string(v)
	}
	return dir, prof, fs, somaxconn, read
}

// TestKernelReconcileNotify runs reconcile against the real /proc/sys of a
// private network namespace, changes a key behind its back, and checks the
// sd_notify conversation: READY=1, a STATUS= reporting the drift and (in
// enforce mode) its correction, WATCHDOG=1, and STOPPING=1 on SIGTERM with
// exit 0 and the profile left applied.
func TestKernelReconcileNotify(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir, prof, fs, somaxconn, read := reconcileSetup(t)
	flags := func(state string) []string {
		return []string{"-f", prof, "rc", "--interval", "200ms", "--netns-kind", "child",
			"--state-dir", state, "--no-persist", "--persist-dir", filepath.Join(dir, "sysctl.d"),
			"--sysctl-d", filepath.Join(dir, "sysctl.d"), "--sysctl-conf", filepath.Join(dir, "sysctl.conf"),
			"--textfile", filepath.Join(dir, "tcptune.prom")}
	}

	// Enforce.
	n := listenNotify(t)
	state := filepath.Join(dir, "enforce")
	cmd, out := startReconcile(t, ctx, n, append(flags(state), "--mode", "enforce")...)
	ready := n.await(t, "READY=1")
	if !strings.Contains(ready, "corrected 2 drifted key(s)") {
		t.Errorf("READY status = %q, want the initial correction of both keys", ready)
	}
	if got := read(); got != "8192" {
		t.Fatalf("somaxconn after start = %s, want 8192", got)
	}
	if err := fs.Write(somaxconn, "1024"); err != nil { // behind tcptune's back
		t.Fatal(err)
	}
	msg := n.await(t, "corrected 1 drifted key(s) (net.core.somaxconn)")
	if !strings.HasPrefix(msg, "STATUS=") {
		t.Errorf("correction reported as %q, want STATUS=", msg)
	}
	if got := read(); got != "8192" {
		t.Fatalf("somaxconn not corrected: %s", got)
	}
	n.await(t, "WATCHDOG=1")
	stopReconcile(t, cmd, out, n)
	if got := read(); got != "8192" {
		t.Errorf("somaxconn after stop = %s: reconcile must not roll back on exit", got)
	}
	// The textfile carries the loop's metrics and the transactions' (last
	// apply time and result, crashed transactions), like status -o prometheus.
	prom, err := os.ReadFile(filepath.Join(dir, "tcptune.prom"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"tcptune_reconcile_corrections_total 3", "tcptune_last_transaction_success 1", "tcptune_crashed_transactions 0", "tcptune_last_transaction_timestamp_seconds "} {
		if !strings.Contains(string(prom), m) {
			t.Errorf("textfile lacks %q:\n%s", m, prom)
		}
	}
	recs, _, err := systemd.ReadAudit(filepath.Join(state, systemd.AuditFileName), systemd.AuditFilter{Key: "net.core.somaxconn", Action: systemd.ActionReconcile})
	if err != nil || len(recs) != 2 || recs[1].Before != "1024" || recs[1].After != "8192" || recs[1].Transaction == "" {
		t.Errorf("audit records of somaxconn corrections: %v %+v", err, recs)
	}

	// Report: the drift is reported and left alone.
	n = listenNotify(t)
	state = filepath.Join(dir, "report")
	cmd, out = startReconcile(t, ctx, n, append(flags(state), "--mode", "report")...)
	if msg := n.await(t, "READY=1"); !strings.Contains(msg, "report: in sync") {
		t.Errorf("READY status = %q, want in sync", msg)
	}
	if err := fs.Write(somaxconn, "2048"); err != nil {
		t.Fatal(err)
	}
	n.await(t, "STATUS=report: 1 key(s) drifted: net.core.somaxconn")
	time.Sleep(500 * time.Millisecond) // a few more checks
	if got := read(); got != "2048" {
		t.Errorf("report mode changed somaxconn to %s", got)
	}
	stopReconcile(t, cmd, out, n)
	st, err := reconcile.LoadState(state)
	if err != nil || st == nil || st.Running || len(st.Drifted) != 1 || st.Drifted[0].Live != "2048" {
		t.Errorf("report state: %v %+v", err, st)
	}
}

func TestReconcileRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"reconcile", "high-concurrency", "--mode", "fix"},
		{"reconcile", "high-concurrency", "--interval", "1ms"},
		{"reconcile", "no-such-profile"},
	} {
		var out, errb bytes.Buffer
		if code := Run(args, nil, &out, &errb); code != ExitError || !strings.Contains(errb.String(), "tcptune: hint:") {
			t.Errorf("%v: exit %d, stderr %q; want 1 with a hint", args, code, errb.String())
		}
	}
}

// TestKernelReconcileYieldsToRollback is the new user's undo, in a private
// network namespace: while 'tcptune reconcile --mode enforce' runs,
// 'tcptune rollback' restores the originals and they stay restored for more
// than three intervals (reconcile reports the keys as not enforced); a new
// 'tcptune apply' hands them back, and drift is corrected again.
func TestKernelReconcileYieldsToRollback(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir, prof, fs, somaxconn, read := reconcileSetup(t)
	orig := read()
	if orig == "8192" {
		t.Fatalf("a fresh namespace already has somaxconn 8192")
	}
	state := filepath.Join(dir, "state")
	tx := []string{"--netns-kind", "child", "--state-dir", state, "--no-persist", "--persist-dir", filepath.Join(dir, "sysctl.d"),
		"--sysctl-d", filepath.Join(dir, "sysctl.d"), "--sysctl-conf", filepath.Join(dir, "sysctl.conf")}
	const interval = 200 * time.Millisecond
	n := listenNotify(t)
	cmd, out := startReconcile(t, ctx, n, append([]string{"-f", prof, "rc", "--interval", interval.String(), "--mode", "enforce"}, tx...)...)
	n.await(t, "READY=1")
	if got := read(); got != "8192" {
		t.Fatalf("somaxconn after start = %s, want 8192", got)
	}

	rb := []string{"rollback", "--netns-kind", "child", "--state-dir", state, "--persist-dir", filepath.Join(dir, "sysctl.d")}
	if code, o, e := run(t, rb...); code != 0 {
		t.Fatalf("rollback exit %d\n%s\n%s", code, o, e)
	}
	n.await(t, "2 key(s) not enforced (rolled back or replaced)")
	time.Sleep(3*interval + 300*time.Millisecond)
	if got := read(); got != orig {
		t.Fatalf("somaxconn = %s more than three intervals after the rollback, want the restored %s: reconcile re-applied it\n%s", got, orig, out)
	}
	code, o, e := run(t, "status", "--state-dir", state, "--persist-dir", filepath.Join(dir, "sysctl.d"), "--netns-kind", "child")
	if code == ExitError || !strings.Contains(o, "not enforced") || !strings.Contains(o, "net.core.somaxconn") {
		t.Errorf("status does not show the released keys: exit %d\n%s\n%s", code, o, e)
	}

	// apply hands the keys back; drift behind tcptune's back is corrected.
	if code, o, e := run(t, append([]string{"apply", "-f", prof, "rc"}, tx...)...); code != 0 {
		t.Fatalf("apply exit %d\n%s\n%s", code, o, e)
	}
	if err := fs.Write(somaxconn, "1024"); err != nil {
		t.Fatal(err)
	}
	n.await(t, "corrected 1 drifted key(s) (net.core.somaxconn)")
	if got := read(); got != "8192" {
		t.Fatalf("somaxconn = %s after the new apply and a drift, want 8192", got)
	}
	stopReconcile(t, cmd, out, n)
}
