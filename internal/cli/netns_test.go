package cli

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tcptune/tcptune/netns"
)

// buildTcptune builds the tcptune binary into a temporary directory: --netns
// re-executes the process, which must never be the test binary.
func buildTcptune(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tcptune")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/tcptune/tcptune/cmd/tcptune").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runBin executes bin with args and returns stdout, stderr and the exit status.
func runBin(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), errb.String(), 0
	case errors.As(err, &ee):
		return out.String(), errb.String(), ee.ExitCode()
	}
	t.Fatalf("%s %v: %v", bin, args, err)
	return "", "", -1
}

// newTestNetns creates an `ip netns` namespace deleted at cleanup, and
// refuses to go on unless it differs from the test's own namespace (and
// PID 1's when readable): whatever --netns writes must land only there.
func newTestNetns(t *testing.T) string {
	t.Helper()
	reason := ""
	if os.Geteuid() != 0 {
		reason = "not running as root"
	} else if _, err := exec.LookPath("ip"); err != nil {
		reason = "no ip(8) (iproute2)"
	}
	if reason != "" {
		if os.Getenv("TCPTUNE_REQUIRE_NETNS") == "1" {
			t.Fatalf("--netns test cannot run: %s (TCPTUNE_REQUIRE_NETNS=1)", reason)
		}
		t.Skipf("SKIPPED --netns test (needs ip netns add): %s", reason)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "tcptune-test-" + hex.EncodeToString(b)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", name, err, out)
		}
	})
	path := filepath.Join(netns.RunDir, name)
	for _, host := range []string{"/proc/self/ns/net", "/proc/1/ns/net"} {
		same, err := sameNetns(path, host)
		if err != nil && host == "/proc/self/ns/net" {
			t.Fatal(err)
		}
		if same {
			t.Fatalf("REFUSING TO RUN: %s is the same namespace as %s", path, host)
		}
	}
	if err := netns.Do(netns.Target{Path: path}, func() error { return netns.CheckPrivate(netns.ID{}) }); err != nil {
		t.Fatalf("REFUSING TO RUN: %v", err)
	}
	return name
}

// nsRead reads a sysctl inside the namespace, independently of tcptune.
func nsRead(t *testing.T, name, file string) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", name, "cat", "/proc/sys/"+file).CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns exec %s cat %s: %v\n%s", name, file, err, out)
	}
	return strings.TrimSpace(string(out))
}

func hostRead(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/" + file)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestNetnsKernel drives diff, apply, status and rollback through --netns
// into a namespace made by `ip netns add`, with both NAME and PATH forms,
// and checks the writes landed there and nowhere else.
func TestNetnsKernel(t *testing.T) {
	name := newTestNetns(t)
	bin := buildTcptune(t)
	state := t.TempDir()
	watched := []string{"net/ipv4/tcp_syn_retries", "net/ipv4/tcp_fin_timeout", "net/core/somaxconn"}
	hostBefore := map[string]string{}
	for _, f := range watched {
		hostBefore[f] = hostRead(t, f)
	}
	nsBefore := nsRead(t, name, "net/ipv4/tcp_syn_retries")

	out, stderr, rc := runBin(t, bin, "diff", "high-concurrency", "--netns", name, "-o", "json")
	if rc != ExitChanges {
		t.Fatalf("diff --netns: exit %d, want 2\n%s%s", rc, out, stderr)
	}
	actions := planActions(t, out)
	if actions["net.core.netdev_max_backlog"] != "host-wide" || actions["net.core.somaxconn"] != "set" {
		t.Errorf("diff --netns: want netdev_max_backlog host-wide and somaxconn set, got %v", actions)
	}

	nsPath := filepath.Join(netns.RunDir, name)
	out, stderr, rc = runBin(t, bin, "apply", "fail-fast", "--netns", nsPath, "--state-dir", state, "-o", "json", "--detailed-exitcode")
	if rc != ExitChanges {
		t.Fatalf("apply --netns PATH: exit %d, want 2\n%s%s", rc, out, stderr)
	}
	var res struct {
		Changed   bool            `json:"changed"`
		Persisted json.RawMessage `json:"persisted"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if !res.Changed || string(res.Persisted) != "null" {
		t.Errorf("apply --netns: changed=%v persisted=%s; want changed and not persisted (PID 1 runs in another namespace)", res.Changed, res.Persisted)
	}
	if got := nsRead(t, name, "net/ipv4/tcp_syn_retries"); got != "3" {
		t.Errorf("tcp_syn_retries in the namespace = %s after apply, want 3", got)
	}

	if out, stderr, rc = runBin(t, bin, "apply", "fail-fast", "--netns", name, "--state-dir", state, "--detailed-exitcode"); rc != ExitOK {
		t.Errorf("second apply --netns: exit %d, want 0 (nothing to do)\n%s%s", rc, out, stderr)
	}
	out, stderr, rc = runBin(t, bin, "status", "--netns", name, "--state-dir", state, "-o", "json")
	if rc != ExitOK {
		t.Fatalf("status --netns: exit %d, want 0\n%s%s", rc, out, stderr)
	}
	var st struct {
		Applied []struct{ Key, Live string } `json:"applied"`
		Drift   bool                         `json:"drift"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Applied) != 6 || st.Drift {
		t.Errorf("status --netns: %d applied keys, drift %v; want 6 and in sync:\n%s", len(st.Applied), st.Drift, out)
	}

	// The /proc/PID/ns/net form, through a process living in the namespace.
	sleeper := exec.Command("ip", "netns", "exec", name, "sleep", "30")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	pidPath := "/proc/" + strconv.Itoa(sleeper.Process.Pid) + "/ns/net"
	waitSameNetns(t, pidPath, nsPath)
	if out, stderr, rc = runBin(t, bin, "diff", "fail-fast", "--netns", pidPath); rc != ExitOK {
		t.Errorf("diff --netns %s after apply: exit %d, want 0 (in sync)\n%s%s", pidPath, rc, out, stderr)
	}

	if out, stderr, rc = runBin(t, bin, "rollback", "--netns", name, "--state-dir", state); rc != ExitOK {
		t.Fatalf("rollback --netns: exit %d\n%s%s", rc, out, stderr)
	}
	if got := nsRead(t, name, "net/ipv4/tcp_syn_retries"); got != nsBefore {
		t.Errorf("tcp_syn_retries in the namespace = %s after rollback, want %s", got, nsBefore)
	}
	hostAfter := map[string]string{}
	for _, f := range watched {
		hostAfter[f] = hostRead(t, f)
	}
	if d := cmp.Diff(hostBefore, hostAfter); d != "" {
		t.Fatalf("HOST SYSCTLS CHANGED (-before +after):\n%s", d)
	}
}

// planActions decodes diff -o json into key -> action.
func planActions(t *testing.T, out string) map[string]string {
	t.Helper()
	var plan PlanJSON
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	actions := map[string]string{}
	for _, c := range plan.Changes {
		actions[c.Key.String()] = string(c.Action)
	}
	return actions
}

// sameNetns reports whether two namespace files name one namespace.
func sameNetns(a, b string) (bool, error) {
	ia, err := netns.IDOf(a)
	if err != nil {
		return false, err
	}
	ib, err := netns.IDOf(b)
	if err != nil {
		return false, err
	}
	return ia == ib, nil
}

// waitSameNetns waits (bounded) until `ip netns exec` has entered the
// namespace: before that, /proc/PID/ns/net is still the host's.
func waitSameNetns(t *testing.T, pidPath, nsPath string) {
	t.Helper()
	for range 200 {
		if same, err := sameNetns(pidPath, nsPath); err == nil && same {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never entered %s", pidPath, nsPath)
}

// TestNetnsRefusedInProcess: in-process callers (this test binary) are
// never replaced by execve; the flag is an error there.
func TestNetnsRefusedInProcess(t *testing.T) {
	var out, errb bytes.Buffer
	code := Run([]string{"diff", "fail-fast", "--netns", "whatever"}, nil, &out, &errb)
	if code != ExitError || !strings.Contains(errb.String(), "only from the tcptune binary") {
		t.Fatalf("exit %d, stderr %q; want 1 and a refusal", code, errb.String())
	}
	code = Run([]string{"status", "--netns", "."}, nil, &out, &errb)
	if code != ExitError || !strings.Contains(errb.String(), `invalid network namespace: name "."`) {
		t.Fatalf("exit %d, stderr %q; want 1 naming the bad name", code, errb.String())
	}
}

// TestNetnsArgs: --netns is removed, and the namespace gets its own state
// directory unless the user chose otherwise (whether apply persists is
// decided inside the namespace: TestNamespaceMatrix).
func TestNetnsArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"apply", "p", "--netns", "x", "-o", "json"},
			[]string{"apply", "p", "-o", "json", "--state-dir", "/var/lib/tcptune/netns/x"}},
		{[]string{"apply", "--netns=x", "p", "--state-dir", "/s", "--persist-dir", "/p"},
			[]string{"apply", "p", "--state-dir", "/s", "--persist-dir", "/p"}},
		{[]string{"apply", "p", "--netns", "x", "--no-persist", "--state-dir", "/s"},
			[]string{"apply", "p", "--no-persist", "--state-dir", "/s"}},
		{[]string{"status", "--netns", "x"},
			[]string{"status", "--state-dir", "/var/lib/tcptune/netns/x", "--persist-dir", "/var/lib/tcptune/netns/x/sysctl.d"}},
		{[]string{"rollback", "--state-dir", "/s", "--netns", "x"},
			[]string{"rollback", "--state-dir", "/s", "--persist-dir", "/s/sysctl.d"}},
		{[]string{"diff", "--netns", "x", "p", "--", "--netns"},
			[]string{"diff", "p", "--", "--netns"}},
	} {
		root := newRootCmd(&Globals{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}})
		cmd, rest, err := root.Find(tc.args)
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.ParseFlags(rest); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		got, err := netnsArgs(cmd, tc.args, "x")
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("netnsArgs(%v) (-want +got):\n%s", tc.args, d)
		}
	}
}
