package resettrace

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/tcptune/tcptune/internal/nstest"
	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/sysctl"
)

// selfNetns is the inode of this thread's network namespace.
func selfNetns(t *testing.T) uint32 {
	t.Helper()
	ino, ok := statInode("/proc/thread-self/ns/net")
	if !ok {
		t.Fatal("stat /proc/thread-self/ns/net")
	}
	return uint32(ino)
}

// traceDuring runs fn with the tracer attached and returns the rows of the
// namespaces in keep (other engineers' tests reset connections elsewhere
// on this machine at the same time: those rows are not ours).
func traceDuring(t *testing.T, opts Options, fn func(), keep ...uint32) []Row {
	t.Helper()
	tr, err := Start(opts)
	if err != nil {
		t.Fatalf("start tracer: %v", err)
	}
	fn()
	time.Sleep(100 * time.Millisecond)
	events := tr.Stop()
	var mine []Event
	for _, e := range events {
		for _, k := range keep {
			if e.Netns == k {
				mine = append(mine, e)
			}
		}
	}
	rows := Aggregate(mine)
	for _, r := range rows {
		t.Logf("row: %s %s x%d local=%s remote=%s netns=%s reasons=%v states=%v", r.Cause, r.Direction, r.Count, r.Local, r.Remote, r.Netns.Name, r.Reasons, r.States)
	}
	return rows
}

// findRow returns the sent row of cause at local.
func findRow(t *testing.T, rows []Row, cause Cause, local string) Row {
	t.Helper()
	for _, r := range rows {
		if r.Cause == cause && r.Direction == Sent && r.Local == local {
			return r
		}
	}
	t.Fatalf("no %s row sent from %s in %d rows", cause, local, len(rows))
	return Row{}
}

func listen(t *testing.T) *net.TCPListener {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.(*net.TCPListener)
}

// pair returns a connected client and the server's accepted end.
func pair(t *testing.T, ln *net.TCPListener) (client, server *net.TCPConn) {
	t.Helper()
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s
}

func TestKernelNoListener(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	var derr error
	rows := traceDuring(t, Options{}, func() {
		_, derr = net.DialTimeout("tcp4", "127.0.0.1:9", time.Second)
	}, selfNetns(t))
	if !errors.Is(derr, syscall.ECONNREFUSED) {
		t.Fatalf("dial a closed port: %v, want connection refused", derr)
	}
	r := findRow(t, rows, NoListener, "127.0.0.1:9")
	if r.Reasons["NO_SOCKET"] != 1 || r.Netns.Inode != selfNetns(t) {
		t.Errorf("row %+v: want one NO_SOCKET in namespace %d", r, selfNetns(t))
	}
	// The client's side: a reset received, to be examined at 127.0.0.1:9.
	got := false
	for _, r := range rows {
		if r.Cause == ResetReceived && r.Remote == "127.0.0.1:9" && strings.Contains(r.Examine, "127.0.0.1:9") {
			got = true
		}
	}
	if !got {
		t.Error("no reset-received row naming 127.0.0.1:9 as the host to examine")
	}
}

func TestKernelCloseWithUnreadData(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	ln := listen(t)
	var rerr error
	rows := traceDuring(t, Options{}, func() {
		c, s := pair(t, ln)
		if _, err := c.Write([]byte("request the server never reads\n")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		s.Close()
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		_, rerr = c.Read(make([]byte, 16))
	}, selfNetns(t))
	if !errors.Is(rerr, syscall.ECONNRESET) {
		t.Errorf("client read %v, want connection reset by peer", rerr)
	}
	r := findRow(t, rows, UnreadData, ln.Addr().String())
	if r.Reasons["TCP_ABORT_ON_CLOSE"] != 1 {
		t.Errorf("reasons %v, want TCP_ABORT_ON_CLOSE", r.Reasons)
	}
	// Sent from close(2): the process is known.
	if r.Process == nil || r.Process.PID != uint32(os.Getpid()) {
		t.Errorf("process %+v, want pid %d", r.Process, os.Getpid())
	}
}

func TestKernelKeepaliveRace(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	ln := listen(t)
	rows := traceDuring(t, Options{}, func() {
		c, s := pair(t, ln)
		s.Close() // the server's keepalive timeout fires on an idle connection
		time.Sleep(50 * time.Millisecond)
		// The client's pool still holds it and sends the next request.
		if _, err := c.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		_, _ = c.Read(make([]byte, 16)) // EOF or ECONNRESET, depending on timing
	}, selfNetns(t))
	r := findRow(t, rows, KeepaliveRace, ln.Addr().String())
	if r.Reasons["TCP_TIMEWAIT_SOCKET"] != 1 || r.States["TIME_WAIT"] != 1 {
		t.Errorf("reasons %v states %v, want TCP_TIMEWAIT_SOCKET from TIME_WAIT", r.Reasons, r.States)
	}
	if !strings.Contains(r.Fix.Summary, "idle timeout must be shorter") {
		t.Errorf("fix %q", r.Fix.Summary)
	}
}

func TestKernelLinger(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	ln := listen(t)
	rows := traceDuring(t, Options{}, func() {
		// SO_LINGER {1, 0}: close() aborts.
		_, s := pair(t, ln)
		if err := s.SetLinger(0); err != nil {
			t.Fatal(err)
		}
		s.Close()
		// TCP_LINGER2 < 0: close() in FIN-WAIT-2 aborts.
		_, s2 := pair(t, ln)
		raw, _ := s2.SyscallConn()
		var serr error
		_ = raw.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_LINGER2, -1) })
		if serr != nil {
			t.Fatal(serr)
		}
		_ = s2.CloseWrite()
		time.Sleep(50 * time.Millisecond) // the client ACKs the FIN: FIN-WAIT-2
		s2.Close()
	}, selfNetns(t))
	r := findRow(t, rows, LingerAbort, ln.Addr().String())
	if r.Count != 2 || r.Reasons["TCP_STATE"] != 1 || r.Reasons["TCP_ABORT_ON_LINGER"] != 1 {
		t.Errorf("count %d reasons %v, want TCP_STATE (SO_LINGER 0) and TCP_ABORT_ON_LINGER", r.Count, r.Reasons)
	}
}

// TestKernelListenerClosed: a listener closed with a connection nobody
// accepted resets it; the SO_LINGER reset of TestKernelLinger is not this.
func TestKernelListenerClosed(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	var rerr error
	rows := traceDuring(t, Options{}, func() {
		c, err := net.Dial("tcp4", addr) // queued, never accepted
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		time.Sleep(20 * time.Millisecond)
		ln.Close()
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		_, rerr = c.Read(make([]byte, 1))
	}, selfNetns(t))
	if !errors.Is(rerr, syscall.ECONNRESET) {
		t.Errorf("queued client read %v, want connection reset by peer", rerr)
	}
	r := findRow(t, rows, ListenerClosed, addr)
	if r.Count != 1 || r.Reasons["TCP_STATE"] != 1 || r.Process == nil || r.Process.PID != uint32(os.Getpid()) {
		t.Errorf("row %+v process %+v", r, r.Process)
	}
}

// TestKernelAcceptQueueOverflow: a spike against a listener that never
// accepts, with tcp_abort_on_overflow=1. Loopback has no round trip, so the
// clients hold back the handshake's last ACK (TCP_DEFER_ACCEPT on the
// connecting socket, as the lab's clients do) and send it with their first
// data a few milliseconds later, when the queue is already full.
func TestKernelAcceptQueueOverflow(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	fs := sysctl.NewFS(sysctl.DefaultRoot)
	k, _ := sysctl.ParseKey("net.ipv4.tcp_abort_on_overflow")
	v, _ := sysctl.ParseValue("1")
	nstest.Guard(t)
	if err := fs.Write(k, v); err != nil {
		t.Fatal(err)
	}
	const clients = 20
	var resets int
	var rows []Row
	// Measured: 1-2 of the 20 clients see a reset (with a backlog of 1 most
	// handshakes never wait as a request whose ACK can meet the full queue;
	// SYN cookies answer them, very likely), and in about 1 run of 20 on a
	// loaded machine (three busy loops on two CPUs) none does. When no client
	// saw a reset, the kernel sent none and there is nothing to trace: the
	// spike is repeated, at most 3 times, on a fresh listener. A reset a
	// client saw and the tracer missed still fails the test.
	for attempt := 1; attempt <= 3 && resets == 0; attempt++ {
		resets, rows = overflowSpike(t, clients)
		t.Logf("attempt %d: %d of %d clients saw a reset", attempt, resets, clients)
	}
	r := findRow(t, rows, AcceptQueueOverflow, "127.0.0.1:8001")
	if r.States["LISTEN"] != r.Count || r.Fix.Profile != "high-concurrency" || r.Remote != "127.0.0.1" {
		t.Errorf("row %+v: want resets from LISTEN, fixed by high-concurrency", r)
	}
	if resets == 0 || r.Count < resets {
		t.Errorf("clients saw %d resets, the tracer %d overflow resets", resets, r.Count)
	}
}

// overflowSpike listens on 127.0.0.1:8001 with a backlog of 1, never
// accepting, and traces clients connecting at once; it returns how many saw
// a reset and the traced rows. The listener is closed after the trace.
func overflowSpike(t *testing.T, clients int) (int, []Row) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: 8001, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 1); err != nil {
		t.Fatal(err)
	}
	var resets int
	var mu sync.Mutex
	rows := traceDuring(t, Options{}, func() {
		// All SYNs must reach the listener before the first held-back ACK
		// fills its queue: once the queue is full the kernel drops SYNs
		// (no reset to see). So every client waits at one barrier, and
		// holds its ACK long after it (deferredACKClient): under a loaded
		// machine's scheduling the dials spread over milliseconds.
		var wg, ready sync.WaitGroup
		start := make(chan struct{})
		for range clients {
			wg.Add(1)
			ready.Add(1)
			go func() {
				defer wg.Done()
				ready.Done()
				<-start
				if deferredACKClient("127.0.0.1:8001") {
					mu.Lock()
					resets++
					mu.Unlock()
				}
			}()
		}
		ready.Wait()
		close(start)
		wg.Wait()
	}, selfNetns(t))
	return resets, rows
}

// deferredACKClient connects with the handshake's last ACK held back, sends
// a line 50 ms later and reports whether it read ECONNRESET.
func deferredACKClient(addr string) bool {
	d := net.Dialer{Timeout: 2 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_DEFER_ACCEPT, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
	c, err := d.Dial("tcp4", addr)
	if err != nil {
		return errors.Is(err, syscall.ECONNRESET)
	}
	defer c.Close()
	time.Sleep(50 * time.Millisecond) // the other clients' SYNs arrive meanwhile
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("hello\n")); err != nil {
		return errors.Is(err, syscall.ECONNRESET)
	}
	_, err = c.Read(make([]byte, 8))
	return errors.Is(err, syscall.ECONNRESET)
}

// peerNetns makes a second network namespace (ip netns add, named for this
// issue and process) joined to this one by a veth pair: this side
// 10.211.0.1, the peer 10.211.0.2. It is deleted when the test ends.
func peerNetns(t *testing.T) (path string, inode uint32) {
	t.Helper()
	nstest.Guard(t)
	name := fmt.Sprintf("tcptune-i11-%d", os.Getpid())
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	run("netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "delete", name).Run() })
	run("link", "add", "i11a", "type", "veth", "peer", "name", "i11b")
	run("link", "set", "i11b", "netns", name)
	run("addr", "add", "10.211.0.1/24", "dev", "i11a")
	run("link", "set", "i11a", "up")
	run("-n", name, "addr", "add", "10.211.0.2/24", "dev", "i11b")
	run("-n", name, "link", "set", "i11b", "up")
	run("-n", name, "link", "set", "lo", "up")
	path = netns.RunDir + "/" + name
	ino, ok := statInode(path)
	if !ok {
		t.Fatalf("stat %s", path)
	}
	if self, err := netns.IDOf("/proc/self/ns/net"); err != nil || self.Ino == ino {
		t.Fatalf("peer namespace %s is this one", path)
	}
	return path, uint32(ino)
}

func TestKernelKeepaliveTimeout(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	peer, _ := peerNetns(t)
	var ln net.Listener
	if err := netns.Do(netns.Target{Path: peer}, func() (err error) {
		ln, err = net.Listen("tcp4", "10.211.0.2:8001")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			defer c.Close()
			_, _ = c.Read(make([]byte, 1)) // idle until the end
		}
	}()
	var rerr error
	rows := traceDuring(t, Options{}, func() {
		d := net.Dialer{KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: time.Second, Interval: time.Second, Count: 1}}
		c, err := d.Dial("tcp4", "10.211.0.2:8001")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// The peer vanishes: its packets no longer arrive.
		if out, err := exec.Command("ip", "route", "add", "blackhole", "10.211.0.2/32").CombinedOutput(); err != nil {
			t.Fatalf("ip route add blackhole: %v: %s", err, out)
		}
		_ = c.SetReadDeadline(time.Now().Add(8 * time.Second))
		_, rerr = c.Read(make([]byte, 1))
	}, selfNetns(t))
	if !errors.Is(rerr, syscall.ETIMEDOUT) {
		t.Errorf("client read %v, want connection timed out", rerr)
	}
	r := findRow(t, rows, PeerTimeout, "10.211.0.1:*")
	if r.Reasons["TCP_KEEPALIVE_TIMEOUT"] != 1 || r.Remote != "10.211.0.2:8001" {
		t.Errorf("row %+v", r)
	}
}

// TestKernelTwoNamespaces: resets in two namespaces at the same time, each
// attributed to its own.
func TestKernelTwoNamespaces(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	peer, peerIno := peerNetns(t)
	self := selfNetns(t)
	const n = 50
	rows := traceDuring(t, Options{}, func() {
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			for range n {
				_, _ = net.DialTimeout("tcp4", "127.0.0.1:7", time.Second)
			}
		}()
		go func() {
			defer wg.Done()
			_ = netns.Do(netns.Target{Path: peer}, func() error {
				for range n {
					_, _ = net.DialTimeout("tcp4", "127.0.0.1:8", time.Second)
				}
				return nil
			})
		}()
		wg.Wait()
	}, self, peerIno)
	a := findRow(t, rows, NoListener, "127.0.0.1:7")
	b := findRow(t, rows, NoListener, "127.0.0.1:8")
	if a.Count != n || a.Netns.Inode != self {
		t.Errorf("port 7: %d resets in %+v, want %d in %d", a.Count, a.Netns, n, self)
	}
	if b.Count != n || b.Netns.Inode != peerIno || !strings.HasPrefix(b.Netns.Name, "tcptune-i11-") {
		t.Errorf("port 8: %d resets in %+v, want %d in %d (tcptune-i11-*)", b.Count, b.Netns, n, peerIno)
	}
	for _, r := range rows {
		if r.Local == "127.0.0.1:7" && r.Netns.Inode != self || r.Local == "127.0.0.1:8" && r.Netns.Inode != peerIno {
			t.Errorf("row %s %s in the wrong namespace %+v", r.Cause, r.Local, r.Netns)
		}
	}
}

// TestKernelWithoutReason runs the pre-6.10 program (no reason argument)
// and checks that causes still follow from the socket state.
func TestKernelWithoutReason(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	ln := listen(t)
	rows := traceDuring(t, Options{NoReason: true}, func() {
		_, _ = net.DialTimeout("tcp4", "127.0.0.1:9", time.Second)
		c, s := pair(t, ln)
		s.Close()
		time.Sleep(50 * time.Millisecond)
		_, _ = c.Write([]byte("x"))
		time.Sleep(50 * time.Millisecond)
	}, selfNetns(t))
	for _, want := range []struct {
		cause Cause
		local string
	}{{NoListener, "127.0.0.1:9"}, {KeepaliveRace, ln.Addr().String()}} {
		r := findRow(t, rows, want.cause, want.local)
		if r.Reasons["unavailable"] != r.Count {
			t.Errorf("%s: reasons %v, want all unavailable", want.cause, r.Reasons)
		}
	}
}

// TestKernelNothingLeftAfterKill: a tracer killed with SIGKILL leaves no
// program behind (its links and programs live only in its descriptors).
func TestKernelNothingLeftAfterKill(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envHold+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ids:") {
		t.Fatalf("tracer child said %q (%v)", line, err)
	}
	var ids []ebpf.ProgramID
	for _, f := range strings.Fields(strings.TrimPrefix(line, "ids:")) {
		v, _ := strconv.ParseUint(f, 10, 32)
		ids = append(ids, ebpf.ProgramID(v))
	}
	if len(ids) != 2 {
		t.Fatalf("want 2 program ids, got %v", ids)
	}
	for _, id := range ids {
		p, err := ebpf.NewProgramFromID(id)
		if err != nil {
			t.Fatalf("program %d not loaded while the tracer runs: %v", id, err)
		}
		p.Close()
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, id := range ids {
		for {
			p, err := ebpf.NewProgramFromID(id)
			if err != nil {
				break // gone
			}
			p.Close()
			if ctx.Err() != nil {
				t.Fatalf("program %d still loaded after SIGKILL", id)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// TestKernelRefusedWithoutPrivilege: with every capability dropped, Start
// fails with ErrNotPermitted.
func TestKernelRefusedWithoutPrivilege(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv (util-linux) not installed")
	}
	cmd := exec.Command("setpriv", "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all", os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envHold+"=1")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), ErrNotPermitted.Error()) {
		t.Fatalf("without capabilities: %v: %s; want %q", err, out, ErrNotPermitted)
	}
}
