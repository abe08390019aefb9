package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/tcptune/tcptune/doctor"
	"github.com/tcptune/tcptune/internal/nstest"
	"github.com/tcptune/tcptune/sysctl"
)

// smallListener listens on 127.0.0.1 with backlog and never accepts. It
// uses raw syscalls because net.Listen always asks for somaxconn. With
// deferAccept the kernel keeps a connection half-open until its first data
// segment (TCP_DEFER_ACCEPT), which lets a test complete handshakes one at a
// time, deterministically, by writing.
func smallListener(t *testing.T, backlog int, deferAccept bool) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if deferAccept {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 5); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, backlog); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return sa.(*unix.SockaddrInet4).Port
}

// burst opens n connections at once (each dial bounded by timeout), then
// writes one byte on each in turn and reads with a deadline; it returns how
// many reads failed with "connection reset by peer". Everything is closed
// before it returns.
func burst(port, n int, timeout time.Duration) (resets int) {
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), timeout)
			if err == nil {
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, c := range conns {
		c.SetDeadline(time.Now().Add(timeout))
		c.Write([]byte("x"))
	}
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Read(make([]byte, 1))
			if err != nil && strings.Contains(err.Error(), "connection reset by peer") {
				mu.Lock()
				resets++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, c := range conns {
		c.Close()
	}
	return resets
}

func runDoctorJSON(t *testing.T, args ...string) (doctor.Report, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(append([]string{"doctor", "-o", "json"}, args...), strings.NewReader(""), &out, &errb)
	var r doctor.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("doctor output is not JSON (exit %d, stderr %q): %v\n%s", code, errb.String(), err, out.String())
	}
	return r, code
}

func evidence(f *doctor.Finding, name string) *doctor.Evidence {
	for i := range f.Evidence {
		if f.Evidence[i].Name == name {
			return &f.Evidence[i]
		}
	}
	return nil
}

func findingByID(r doctor.Report, id string) *doctor.Finding {
	for i := range r.Findings {
		if r.Findings[i].ID == id {
			return &r.Findings[i]
		}
	}
	return nil
}

// checkOverflow asserts the report names the listener on port.
func checkOverflow(t *testing.T, r doctor.Report, code, port int) *doctor.Finding {
	t.Helper()
	if code != ExitChanges {
		t.Errorf("exit status %d, want %d (findings)", code, ExitChanges)
	}
	f := findingByID(r, "accept-queue-overflow")
	if f == nil {
		t.Fatalf("no accept-queue-overflow finding: %+v", r.Findings)
	}
	want := fmt.Sprintf("127.0.0.1:%d", port)
	if !strings.Contains(strings.Join(f.Listeners, " "), want) || !strings.Contains(f.Summary, want) {
		t.Errorf("finding does not name %s: %+v", want, f)
	}
	var seen bool
	for _, l := range r.Listeners {
		if l.Port == uint16(port) {
			seen = true
			if l.MaxQueue != 2 || l.Status != doctor.StatusFull || l.PID != os.Getpid() {
				t.Errorf("listener %+v: want max_queue 2, full, owned by pid %d", l, os.Getpid())
			}
		}
	}
	if !seen {
		t.Errorf("listener on port %d missing from %+v", port, r.Listeners)
	}
	if findingByID(r, "listener-backlog-below-somaxconn") == nil {
		t.Errorf("no listener-backlog-below-somaxconn for a backlog of 2")
	}
	return f
}

func TestDoctorKernelOverflowSlowConnects(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	// A fresh namespace: abort_on_overflow is 0, its counters start at 0.
	// softnet_stat is host-wide (per CPU, shared by every namespace): other
	// load on the machine may have left drops there, so a finding whose
	// every fix key is host-wide is not this namespace's.
	r, code := runDoctorJSON(t, "--once")
	var own []doctor.Finding
	for _, f := range r.Findings {
		if slices.ContainsFunc(f.Fix.Keys, func(k doctor.FixKey) bool { return !k.HostWide }) || len(f.Fix.Keys) == 0 {
			own = append(own, f)
		}
	}
	if (code != ExitOK && len(own) == len(r.Findings)) || len(own) != 0 {
		t.Fatalf("fresh namespace: exit %d, findings %+v", code, r.Findings)
	}
	port := smallListener(t, 2, false)

	// Rates: the burst happens inside the sampling window.
	type result struct {
		r    doctor.Report
		code int
	}
	done := make(chan result, 1)
	go func() {
		r, code := runDoctorJSON(t, "--interval", "700ms")
		done <- result{r, code}
	}()
	time.Sleep(100 * time.Millisecond) // let the first reading happen
	burst(port, 24, 300*time.Millisecond)
	res := <-done
	if res.r.Mode != "interval" {
		t.Errorf("mode %q", res.r.Mode)
	}
	f := checkOverflow(t, res.r, res.code, port)
	if strings.Contains(f.Summary, "reset") || !strings.Contains(f.Summary, "slow") {
		t.Errorf("abort_on_overflow=0: summary should speak of slow connects, not resets: %q", f.Summary)
	}

	// The since-boot view of the same namespace.
	r, code = runDoctorJSON(t, "--once")
	checkOverflow(t, r, code, port)
}

func TestDoctorKernelOverflowResets(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	fs := sysctl.NewFS("")
	if err := fs.Write(sysctl.MustKey("net.ipv4.tcp_abort_on_overflow"), "1"); err != nil {
		t.Fatal(err)
	}
	port := smallListener(t, 2, true)
	resets := burst(port, 16, 300*time.Millisecond)
	// The queue holds 3 (full is "more than 2"); the handshakes completed
	// after that are answered with a reset.
	if resets == 0 {
		t.Fatal("no client saw connection reset by peer: the scenario did not reproduce")
	}
	t.Logf("%d of 16 clients saw connection reset by peer", resets)

	r, code := runDoctorJSON(t, "--once")
	f := checkOverflow(t, r, code, port)
	if !strings.Contains(f.Summary, `"connection reset by peer"`) {
		t.Errorf("abort_on_overflow=1: summary should say clients get resets: %q", f.Summary)
	}
	if f.Fix.Profile != "high-concurrency" || len(f.Fix.Keys) < 2 || f.Fix.Keys[1].Key != "net.ipv4.tcp_abort_on_overflow" || f.Fix.Keys[1].Value != "0" {
		t.Errorf("fix should set tcp_abort_on_overflow=0 via high-concurrency: %+v", f.Fix)
	}
	if e := evidence(f, "TcpExt.EmbryonicRsts"); e == nil || e.After == nil || *e.After < uint64(resets) {
		t.Errorf("EmbryonicRsts evidence %+v, want at least %d (one per reset client)", e, resets)
	}
	if findingByID(r, "risky-setting") == nil {
		t.Error("tcp_abort_on_overflow=1 not reported as a risky setting")
	}
	// The text report tells the same story.
	var out bytes.Buffer
	if code := Run([]string{"doctor", "--once"}, strings.NewReader(""), &out, &out); code != ExitChanges {
		t.Errorf("text: exit %d", code)
	}
	for _, want := range []string{"[CRITICAL] accept-queue-overflow", fmt.Sprintf("127.0.0.1:%d", port), "tcptune apply high-concurrency"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestDoctorFlagsAndFixtures(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Run([]string{"doctor", "--interval", "0s"}, nil, &out, &errb); code != ExitError ||
		!strings.Contains(errb.String(), "tcptune: error: --interval must be positive") || !strings.Contains(errb.String(), "tcptune: hint:") {
		t.Errorf("--interval 0: exit %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	if code := Run([]string{"doctor", "-o", "prometheus"}, nil, &out, &errb); code != ExitError {
		t.Errorf("-o prometheus: exit %d", code)
	}
	errb.Reset()
	missing := t.TempDir() + "/nope"
	if code := Run([]string{"doctor", "--once", "--proc-root", missing}, nil, &out, &errb); code != ExitError || !strings.Contains(errb.String(), missing) {
		t.Errorf("missing proc root: exit %d, stderr %q", code, errb.String())
	}
}

// TestDoctorKernelNetns: --netns reads sysctls and listeners of the target
// namespace from a thread inside it, not those of the process.
func TestDoctorKernelNetns(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	// A second namespace, held by a locked thread that sets it up and then
	// waits; its path is that thread's ns link.
	ready, release := make(chan string), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		inner, err := netns.New()
		if err != nil {
			errc <- err
			return
		}
		defer inner.Close()
		if err := nstest.LoopbackUp(); err != nil {
			errc <- err
			return
		}
		if err := sysctl.NewFS("").Write(sysctl.MustKey("net.ipv4.tcp_abort_on_overflow"), "1"); err != nil {
			errc <- err
			return
		}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		if err == nil {
			err = unix.Bind(fd, &unix.SockaddrInet4{Port: 4711, Addr: [4]byte{127, 0, 0, 1}})
		}
		if err == nil {
			err = unix.Listen(fd, 3)
		}
		if err != nil {
			errc <- err
			return
		}
		defer unix.Close(fd)
		ready <- fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid())
		<-release
	}()
	var path string
	select {
	case path = <-ready:
	case err := <-errc:
		t.Fatal(err)
	}
	defer close(release)

	outer, _ := runDoctorJSON(t, "--once")
	inner, code := runDoctorJSON(t, "--once", "--netns", path)
	if code != ExitChanges || findingByID(inner, "risky-setting") == nil {
		t.Errorf("--netns: exit %d, findings %+v; want risky-setting for the inner abort_on_overflow=1", code, inner.Findings)
	}
	if findingByID(outer, "risky-setting") != nil {
		t.Errorf("the outer namespace has abort_on_overflow=0, got %+v", outer.Findings)
	}
	has4711 := func(r doctor.Report) bool {
		for _, l := range r.Listeners {
			if l.Port == 4711 && l.MaxQueue == 3 {
				return true
			}
		}
		return false
	}
	if !has4711(inner) || has4711(outer) {
		t.Errorf("listener 4711 must be seen with --netns only: inner %+v, outer %+v", inner.Listeners, outer.Listeners)
	}
	var errb bytes.Buffer
	if code := Run([]string{"doctor", "--once", "--netns", "no-such-ns"}, nil, &bytes.Buffer{}, &errb); code != ExitError ||
		!strings.Contains(errb.String(), "/run/netns/no-such-ns") {
		t.Errorf("unknown netns: exit %d, stderr %q", code, errb.String())
	}
}
