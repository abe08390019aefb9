package cli

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tcptune/tcptune/netns"
)

// The namespace matrix (issue 10): every way a process ends up in a child
// network namespace, each row a real namespace this test makes. In each row:
// host-wide keys are "host-wide" in diff and skipped by apply, namespaced
// keys apply, the persistence decision is the documented one (the default
// /etc/sysctl.d is a tmpfs in a private mount namespace, never the host's),
// rollback from the host refuses the transaction, doctor --all-netns finds a
// listener there with that namespace's own somaxconn and names its owner, and
// rollback inside restores. The host's values are compared before and after.

const matrixProfile = `name: matrix
description: namespace matrix
settings:
  net.core.somaxconn:
    value: 1234
  net.ipv4.tcp_fin_timeout:
    value: 17
  net.core.netdev_max_backlog:
    value: 2000
    op: at-least
  net.core.rmem_max:
    value: 4194304
    op: at-least
  fs.file-max:
    value: 1000
    op: at-least
`

// mountPrivateSysctlD runs "$@" with /etc/sysctl.d on a fresh tmpfs in a
// private mount namespace: whatever a buggy persist writes there vanishes.
var mountPrivateSysctlD = []string{"unshare", "-m", "--propagation", "private", "--",
	"sh", "-c", `mount -t tmpfs tcptune-i10 /etc/sysctl.d || exit 99; exec "$@"`, "sh"}

// listAfter runs "$@", then lists /etc/sysctl.d (the one the command saw)
// into $TCPTUNE_I10_LS.
var listAfter = []string{"sh", "-c", `"$@"; rc=$?; ls -A /etc/sysctl.d > "$TCPTUNE_I10_LS" || exit 98; exit $rc`, "sh"}

type matrixRow struct {
	name string
	path string // the namespace file
	// enter is the argv prefix that runs a command inside the namespace
	// (nil for the --netns row: tcptune enters it itself).
	enter []string
	// private: the row's own mount namespace already has the tmpfs.
	private bool
	// netnsArgs gives the --netns argument for command i (--netns row).
	netnsArgs func(cmd string) []string
	persist   bool // the documented decision
	ownerKind string
	ownerName string
}

func matrixRequire(t *testing.T) {
	t.Helper()
	reason := ""
	if os.Geteuid() != 0 {
		reason = "not running as root"
	}
	for _, tool := range []string{"ip", "unshare", "nsenter", "mount"} {
		if _, err := exec.LookPath(tool); err != nil && reason == "" {
			reason = "no " + tool
		}
	}
	if reason != "" {
		if os.Getenv("TCPTUNE_REQUIRE_NETNS") == "1" {
			t.Fatalf("namespace matrix cannot run: %s (TCPTUNE_REQUIRE_NETNS=1)", reason)
		}
		t.Skipf("SKIPPED namespace matrix: %s", reason)
	}
}

// holder starts a long-lived process (bounded: sleep 300) and kills it by
// PID at cleanup.
func holder(t *testing.T, argv ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%v: %v", argv, err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// waitFor polls (bounded) until ok returns true.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for range 300 {
		if ok() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// ipNetns adds an ip netns deleted at cleanup.
func ipNetns(t *testing.T, name string) string {
	t.Helper()
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", name, err, out)
		}
	})
	return filepath.Join(netns.RunDir, name)
}

func comm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

func childOf(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(f[0])
	return n
}

func TestNamespaceMatrix(t *testing.T) {
	matrixRequire(t)
	self, err := netns.Self()
	if err != nil {
		t.Fatal(err)
	}
	bin := buildTcptune(t)
	prof := filepath.Join(t.TempDir(), "matrix.yaml")
	if err := os.WriteFile(prof, []byte(matrixProfile), 0o644); err != nil {
		t.Fatal(err)
	}
	inOtherNetns := func(path string) func() bool {
		return func() bool { id, err := netns.IDOf(path); return err == nil && id != self }
	}
	pid := strconv.Itoa(os.Getpid())

	rows := []func(t *testing.T) matrixRow{
		func(t *testing.T) matrixRow {
			h := holder(t, "unshare", "-n", "--", "sleep", "300")
			path := fmt.Sprintf("/proc/%d/ns/net", h.Process.Pid)
			waitFor(t, "unshare -n", func() bool { return inOtherNetns(path)() && comm(h.Process.Pid) == "sleep" })
			return matrixRow{name: "unshare-n", path: path, enter: []string{"nsenter", "--net=" + path, "--"},
				persist: false, ownerKind: "process"}
		},
		func(t *testing.T) matrixRow {
			h := holder(t, "unshare", "-n", "-p", "-m", "--mount-proc", "--propagation", "private", "--kill-child", "--",
				"sh", "-c", "mount -t tmpfs tcptune-i10 /etc/sysctl.d && exec sleep 300")
			var inner int
			waitFor(t, "unshare -n -p -f --mount-proc", func() bool {
				inner = childOf(h.Process.Pid)
				return inner != 0 && comm(inner) == "sleep" && inOtherNetns(fmt.Sprintf("/proc/%d/ns/net", inner))()
			})
			return matrixRow{name: "unshare-n-p-f-mount-proc", path: fmt.Sprintf("/proc/%d/ns/net", inner),
				enter: []string{"nsenter", "-t", strconv.Itoa(inner), "-n", "-m", "-p", "--"}, private: true,
				persist: true, ownerKind: "process"}
		},
		func(t *testing.T) matrixRow {
			name := "tcptune-i10-" + pid + "-exec"
			return matrixRow{name: "ip-netns-exec", path: ipNetns(t, name), enter: []string{"ip", "netns", "exec", name},
				persist: false, ownerKind: "ip-netns", ownerName: name}
		},
		func(t *testing.T) matrixRow {
			name := "tcptune-i10-" + pid + "-flag"
			path := ipNetns(t, name)
			h := holder(t, "ip", "netns", "exec", name, "sleep", "300")
			pidPath := fmt.Sprintf("/proc/%d/ns/net", h.Process.Pid)
			waitFor(t, "ip netns exec sleep", func() bool { return inOtherNetns(pidPath)() })
			forms := map[string][]string{
				"diff":     {"--netns", name},
				"apply":    {"--netns", path},
				"status":   {"--netns", strconv.Itoa(h.Process.Pid)},
				"rollback": {"--netns", pidPath},
			}
			return matrixRow{name: "netns-flag", path: path, netnsArgs: func(c string) []string { return forms[c] },
				persist: false, ownerKind: "ip-netns", ownerName: name}
		},
	}
	hostFiles := []string{"net/core/somaxconn", "net/ipv4/tcp_fin_timeout", "net/core/netdev_max_backlog", "net/core/rmem_max", "fs/file-max"}
	for _, mk := range rows {
		row := mk(t)
		t.Run(row.name, func(t *testing.T) {
			testMatrixRow(t, bin, prof, self, row, hostFiles)
		})
	}
}

func testMatrixRow(t *testing.T, bin, prof string, self netns.ID, row matrixRow, hostFiles []string) {
	nsID, err := netns.IDOf(row.path)
	if err != nil {
		t.Fatal(err)
	}
	// The guard: the row's namespace is not ours, and the kernel calls it a
	// child one.
	if err := netns.Do(netns.Target{Path: row.path}, func() error { return netns.CheckPrivate(self) }); err != nil || nsID == self {
		t.Fatalf("REFUSING TO RUN in %s: %v", row.path, err)
	}
	hostBefore := map[string]string{}
	for _, f := range hostFiles {
		hostBefore[f] = hostRead(t, f)
	}
	state := t.TempDir()
	lsFile := filepath.Join(t.TempDir(), "ls")
	// tcptune runs one tcptune command in the row and returns its output
	// and what /etc/sysctl.d then held.
	tcptune := func(args ...string) (string, string, int, string) {
		t.Helper()
		args = append(args, "-f", prof)
		if row.netnsArgs != nil {
			args = append(args, row.netnsArgs(args[0])...)
		}
		argv := append(append(slicesClone(listAfter), bin), args...)
		argv = append(slicesClone(row.enter), argv...)
		if !row.private {
			argv = append(slicesClone(mountPrivateSysctlD), argv...)
		}
		os.Remove(lsFile)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "TCPTUNE_I10_LS="+lsFile)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		rc := 0
		if ee, ok := err.(*exec.ExitError); ok {
			rc = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%v: %v", argv, err)
		}
		ls, lerr := os.ReadFile(lsFile)
		if lerr != nil {
			t.Fatalf("%v: /etc/sysctl.d not listed (exit %d): %v\n%s%s", argv, rc, lerr, out.String(), errb.String())
		}
		return out.String(), errb.String(), rc, strings.TrimSpace(string(ls))
	}
	inside := func(argv ...string) string {
		t.Helper()
		enter := row.enter
		if enter == nil {
			enter = []string{"nsenter", "--net=" + row.path, "--"}
		}
		full := append(slicesClone(enter), argv...)
		out, err := exec.Command(full[0], full[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", full, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	somaxBefore := inside("cat", "/proc/sys/net/core/somaxconn")

	// diff: host-wide keys are host-wide, namespaced ones set.
	out, errs, rc, _ := tcptune("diff", "matrix", "-o", "json")
	if rc != ExitChanges {
		t.Fatalf("diff: exit %d, want 2\n%s%s", rc, out, errs)
	}
	actions := planActions(t, out)
	wantActions := map[string]string{
		"net.core.somaxconn": "set", "net.ipv4.tcp_fin_timeout": "set",
		"net.core.netdev_max_backlog": "host-wide", "net.core.rmem_max": "host-wide", "fs.file-max": "host-wide",
	}
	if d := cmp.Diff(wantActions, actions); d != "" {
		t.Errorf("diff actions (-want +got):\n%s", d)
	}

	// apply: namespaced keys applied, host-wide skipped, persistence as
	// documented.
	out, errs, rc, ls := tcptune("apply", "matrix", "--state-dir", state, "-o", "json")
	if rc != ExitOK {
		t.Fatalf("apply: exit %d\n%s%s", rc, out, errs)
	}
	var res struct {
		Settings []struct {
			Key, Action string
		} `json:"settings"`
		Persisted *struct {
			File string `json:"file"`
		} `json:"persisted"`
		PersistSkipped string `json:"persist_skipped"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	applied := map[string]string{}
	for _, s := range res.Settings {
		applied[s.Key] = s.Action
	}
	if d := cmp.Diff(wantActions, applied); d != "" {
		t.Errorf("apply actions (-want +got):\n%s", d)
	}
	if got := inside("cat", "/proc/sys/net/core/somaxconn"); got != "1234" {
		t.Errorf("somaxconn in the namespace = %s after apply, want 1234", got)
	}
	switch {
	case row.persist && (res.Persisted == nil || res.Persisted.File != "/etc/sysctl.d/90-tcptune.conf" || ls != "90-tcptune.conf"):
		t.Errorf("persistence: want the container's own /etc/sysctl.d/90-tcptune.conf, got %+v, dir %q\n%s", res.Persisted, ls, out)
	case !row.persist && (res.Persisted != nil || ls != "" || !strings.Contains(res.PersistSkipped, "PID 1")):
		t.Errorf("persistence: want none (and why), got %+v, skipped %q, dir %q", res.Persisted, res.PersistSkipped, ls)
	}
	if row.persist {
		conf := inside("cat", "/etc/sysctl.d/90-tcptune.conf")
		if !strings.Contains(conf, "net.core.somaxconn = 1234") {
			t.Errorf("persisted file lacks somaxconn:\n%s", conf)
		}
		for _, k := range []string{"netdev_max_backlog", "rmem_max", "fs.file-max"} {
			if strings.Contains(conf, k) {
				t.Errorf("host-wide key %s persisted from a child namespace:\n%s", k, conf)
			}
		}
	}

	// status inside agrees.
	if out, errs, rc, _ = tcptune("status", "--state-dir", state, "--persist-dir", filepath.Join(state, "p")); rc != ExitOK {
		t.Errorf("status: exit %d, want 0\n%s%s", rc, out, errs)
	}

	// rollback from the host, with the same state directory: refused.
	code, rout, rerr := run(t, "rollback", "--state-dir", state)
	if code != ExitError || !strings.Contains(rerr, "applied elsewhere") || !strings.Contains(rerr, nsID.String()) ||
		!strings.Contains(rerr, "tcptune: hint: run the rollback where the transaction was applied") {
		t.Errorf("rollback from the host: exit %d, want 1 naming %s with a hint\n%s%s", code, nsID, rout, rerr)
	}
	if got := inside("cat", "/proc/sys/net/core/somaxconn"); got != "1234" {
		t.Errorf("somaxconn in the namespace = %s after the refused rollback, want 1234", got)
	}

	// doctor --all-netns from the host finds a listener in the namespace,
	// with the namespace's own limit, and names the owner.
	var ln net.Listener
	if err := netns.Do(netns.Target{Path: row.path}, func() error {
		if err := netns.LoopbackUp(); err != nil {
			return err
		}
		var err error
		ln, err = net.Listen("tcp4", "127.0.0.1:0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	dout, derr, drc := runBin(t, bin, "doctor", "--all-netns", "--once", "-o", "json")
	ln.Close()
	if drc != ExitOK && drc != ExitChanges {
		t.Fatalf("doctor --all-netns: exit %d\n%s%s", drc, dout, derr)
	}
	conform(t, schemas(t), "doctor-all-netns", "doctor --all-netns", dout)
	var all struct {
		Namespaces []struct {
			Inode     uint64 `json:"inode"`
			Kind      string `json:"kind"`
			Somaxconn string `json:"somaxconn"`
			Owner     struct {
				Kind, Name string
				PID        int
			} `json:"owner"`
			Report struct {
				Listeners []struct {
					Port     int    `json:"port"`
					MaxQueue uint32 `json:"max_queue"`
					PID      int    `json:"pid"`
				} `json:"listeners"`
			} `json:"report"`
		} `json:"namespaces"`
	}
	if err := json.Unmarshal([]byte(dout), &all); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range all.Namespaces {
		if n.Inode != nsID.Ino {
			continue
		}
		found = true
		if n.Somaxconn != "1234" || n.Kind != "child" {
			t.Errorf("doctor: namespace %s somaxconn %q kind %q, want its own 1234, child", nsID, n.Somaxconn, n.Kind)
		}
		if n.Owner.Kind != row.ownerKind || (row.ownerName != "" && n.Owner.Name != row.ownerName) ||
			(row.ownerKind == "process" && n.Owner.PID == 0) {
			t.Errorf("doctor: owner %+v, want kind %s name %q", n.Owner, row.ownerKind, row.ownerName)
		}
		ok := false
		for _, l := range n.Report.Listeners {
			if l.Port == port {
				ok = true
				if l.MaxQueue != 1234 || l.PID != os.Getpid() {
					t.Errorf("doctor: listener :%d max_queue %d pid %d, want 1234 (the namespace's somaxconn) and %d", port, l.MaxQueue, l.PID, os.Getpid())
				}
			}
		}
		if !ok {
			t.Errorf("doctor: listener :%d not reported in %s: %+v", port, nsID, n.Report.Listeners)
		}
	}
	if !found {
		t.Errorf("doctor --all-netns did not report namespace %s:\n%s", nsID, dout)
	}

	// rollback inside: the namespace's values and file come back.
	if out, errs, rc, ls = tcptune("rollback", "--state-dir", state); rc != ExitOK {
		t.Fatalf("rollback: exit %d\n%s%s", rc, out, errs)
	}
	if got := inside("cat", "/proc/sys/net/core/somaxconn"); got != somaxBefore {
		t.Errorf("somaxconn in the namespace = %s after rollback, want %s", got, somaxBefore)
	}
	if row.persist && ls != "" {
		t.Errorf("rollback left /etc/sysctl.d = %q, want the file removed", ls)
	}

	hostAfter := map[string]string{}
	for _, f := range hostFiles {
		hostAfter[f] = hostRead(t, f)
	}
	if d := cmp.Diff(hostBefore, hostAfter); d != "" {
		t.Fatalf("HOST SYSCTLS CHANGED (-before +after):\n%s", d)
	}
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }
