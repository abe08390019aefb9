package resettrace

import (
	"bufio"
	"net"
	nnetip "net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcptune/tcptune/internal/nstest"
)

func ap(s string) nnetip.AddrPort { return nnetip.MustParseAddrPort(s) }

func TestParseTraceLine(t *testing.T) {
	reasons := map[string]int{"NO_SOCKET": 1, "TCP_TIMEWAIT_SOCKET": 9}
	for _, tc := range []struct {
		line    string
		reasons map[string]int
		want    Event
		cause   Cause
	}{
		{"          <idle>-0       [001] ..s1.   123.456789: tcp_send_reset: skbaddr=00000000a1b2c3d4 skaddr=0000000000000000 src=127.0.0.1:9 dest=127.0.0.1:50208 state=UNKNOWN reason=NO_SOCKET",
			reasons, Event{Direction: Sent, Reason: 1, ReasonName: "NO_SOCKET", Comm: "<idle>", Local: ap("127.0.0.1:9"), Remote: ap("127.0.0.1:50208")}, NoListener},
		{"   web server-77  [000] ..s1.  5.1: tcp_send_reset: skbaddr=00000000a1b2c3d4 skaddr=00000000deadbeef src=127.0.0.1:80 dest=127.0.0.1:4000 state=TCP_TIME_WAIT reason=TCP_TIMEWAIT_SOCKET",
			reasons, Event{Direction: Sent, Reason: 9, ReasonName: "TCP_TIMEWAIT_SOCKET", State: 6, HasSocket: true, Comm: "web server", PID: 77, Local: ap("127.0.0.1:80"), Remote: ap("127.0.0.1:4000")}, KeepaliveRace},
		// Before 6.10: no reason= field; by state.
		{"nginx-5 [000] ..... 5.1: tcp_send_reset: skbaddr=0000000000000000 skaddr=00000000deadbeef src=[::1]:80 dest=[::1]:4000 state=TCP_CLOSE",
			nil, Event{Direction: Sent, Reason: NoReason, State: 7, HasSocket: true, Active: true, Comm: "nginx", PID: 5, Local: ap("[::1]:80"), Remote: ap("[::1]:4000")}, ActiveAbort},
		{"curl-9 [000] ..s1. 5.2: tcp_receive_reset: family=AF_INET sport=40000 dport=80 saddr=10.0.0.1 daddr=10.0.0.2 saddrv6=::ffff:10.0.0.1 daddrv6=::ffff:10.0.0.2 sock_cookie=1",
			reasons, Event{Direction: Received, Reason: NoReason, HasSocket: true, Comm: "curl", PID: 9, Local: ap("10.0.0.1:40000"), Remote: ap("10.0.0.2:80")}, ResetReceived},
	} {
		got, ok := parseTraceLine(tc.line, tc.reasons)
		if !ok || got != tc.want {
			t.Errorf("parseTraceLine(%q) =\n %+v, %v\nwant\n %+v", tc.line, got, ok, tc.want)
		}
		if c := Classify(got); c != tc.cause {
			t.Errorf("%q: cause %s, want %s", tc.line, c, tc.cause)
		}
	}
	if _, ok := parseTraceLine("bash-1 [000] ..... 1.0: sched_switch: prev=a", reasons); ok {
		t.Error("parsed an unrelated event")
	}
}

const envTracefs = "TCPTUNE_RESETTRACE_TRACEFS_ROOT"

// TestKernelTracefsFallback: in a private mount namespace with its own
// tracefs mount, the fallback reads resets from tcptune's instance, removes
// it on Stop, and sweeps the instance a SIGKILLed run left behind.
func TestKernelTracefsFallback(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	if os.Getenv(envTracefs) == "" {
		// Re-run this test in a private mount namespace (Go cannot
		// unshare CLONE_NEWNS once it has threads).
		dir := t.TempDir()
		cmd := exec.Command("unshare", "--mount", "--propagation", "private", os.Args[0], "-test.run=^TestKernelTracefsFallback$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), envTracefs+"="+dir)
		out, err := cmd.CombinedOutput()
		t.Logf("in a private mount namespace:\n%s", out)
		if err != nil || !strings.Contains(string(out), "--- PASS: TestKernelTracefsFallback") {
			t.Fatalf("tracefs fallback test failed: %v", err)
		}
		return
	}
	root := os.Getenv(envTracefs)
	if err := syscall.Mount("nodev", root, "tracefs", 0, ""); err != nil {
		t.Skipf("cannot mount tracefs in a private mount namespace: %v", err)
	}
	defer syscall.Unmount(root, syscall.MNT_DETACH)
	TracefsRoots = []string{root}

	// A run killed with SIGKILL leaves its instance.
	hold := exec.Command(os.Args[0], "-test.run=^$")
	hold.Env = append(os.Environ(), envHold+"=tracefs")
	pipe, _ := hold.StdoutPipe()
	if err := hold.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(pipe).ReadString('\n')
	stale := strings.TrimSpace(strings.TrimPrefix(line, "ready:"))
	_ = hold.Process.Signal(syscall.SIGKILL)
	_ = hold.Wait()
	if !strings.HasPrefix(line, "ready:") {
		t.Fatalf("holding child: %q", line)
	}
	if _, err := os.Stat(stale); err != nil {
		t.Fatalf("killed run left no instance to sweep: %v", err)
	}

	tr, err := startTracefs(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale instance %s not swept: %v", stale, err)
	}
	if !strings.HasPrefix(filepath.Base(tr.dir), "tcptune-") {
		t.Errorf("instance %s", tr.dir)
	}
	ln := listen(t)
	_, _ = net.DialTimeout("tcp4", "127.0.0.1:19", time.Second)
	c, s := pair(t, ln)
	s.Close()
	time.Sleep(50 * time.Millisecond)
	_, _ = c.Write([]byte("x"))
	time.Sleep(150 * time.Millisecond)
	rows := Aggregate(tr.Stop())
	if _, err := os.Stat(tr.dir); !os.IsNotExist(err) {
		t.Errorf("instance %s left after Stop: %v", tr.dir, err)
	}
	findRow(t, rows, NoListener, "127.0.0.1:19")
	r := findRow(t, rows, KeepaliveRace, ln.Addr().String())
	if r.Reasons["TCP_TIMEWAIT_SOCKET"] == 0 || r.Netns.Name != "unknown" {
		t.Errorf("row %+v", r)
	}
}
