package doctor

import (
	"context"
	"io"
	"net"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tcptune/tcptune/internal/nstest"
)

// Kernel tests of the SYN-SENT gate (synsent_gate.go): each runs in its own
// private network namespace, on the real kernel's counters.

// gateSource is the live source doctor uses, with the SYN-SENT dump counted.
func gateSource(walks *int) Source {
	return Source{ProcRoot: DefaultProcRoot, Listeners: LiveListeners, GateConnecting: true,
		Connecting: func() ([]Connecting, error) { *walks++; return LiveConnecting() }}
}

func collectLocked(t *testing.T, src Source) *Snapshot {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	s, err := Collect(src)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// holdEstablished opens n loopback connections to a listener of network
// ("tcp4" or "tcp6") and one more that both ends close (a TIME-WAIT socket
// on the client side), and returns when only LISTEN, ESTABLISHED and
// TIME-WAIT sockets are left.
func holdEstablished(t *testing.T, network string, n int) {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "tcp6" {
		addr = "[::1]:0"
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }() // closes when the client does
		}
	}()
	for range n {
		c, err := net.Dial(network, ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
	}
	c, err := net.Dial(network, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close() // client FIN first: the client side ends in TIME-WAIT
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := exec.Command("ss", "-Htan", "exclude", "listening", "exclude", "established", "exclude", "time-wait").CombinedOutput()
		if err != nil {
			t.Fatalf("ss: %v: %s", err, out)
		}
		if strings.TrimSpace(string(out)) == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sockets other than LISTEN/ESTABLISHED/TIME-WAIT stay:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSynSentGateKernelSkipsWalk: a namespace with a listener, established
// connections and a TIME-WAIT socket has no SYN-SENT socket, and the gate
// proves it from the counters: the table is not walked, and the snapshot
// still says the SYN-SENT sockets were read (none), not "could not tell".
func TestSynSentGateKernelSkipsWalk(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	holdEstablished(t, "tcp4", 20)
	walks := 0
	s := collectLocked(t, gateSource(&walks))
	if s.Sockstat == nil || s.Sockstat.TW == nil || *s.Sockstat.TW < 1 {
		t.Fatalf("no TIME-WAIT socket to prove it does not open the gate: %+v", s.Sockstat)
	}
	g := s.SynSent.Gate
	if g == nil || g.Walk != "" || s.SynSent.Walked || walks != 0 {
		t.Fatalf("the gate did not skip the walk: walked=%v dumps=%d gate=%+v", s.SynSent.Walked, walks, g)
	}
	// 1 listener, both ends of 20 connections.
	if g.InUse != 41 || g.Listeners != 1 || g.CurrEstab != 40 || g.Others() != 0 || !g.Steady {
		t.Errorf("gate %+v, want inuse 41, listeners 1, CurrEstab 40", g)
	}
	if !s.ConnectingRead || len(s.Connecting) != 0 {
		t.Errorf("ConnectingRead=%v Connecting=%v, want read and empty", s.ConnectingRead, s.Connecting)
	}
	for _, u := range s.Unavailable {
		if u.Source == "syn-sent sockets" {
			t.Errorf("unavailable: %+v", u)
		}
	}
}

// deadPeer adds a veth whose other end has no address and a permanent
// neighbour entry for peer: SYNs to it leave and are never answered, so a
// connect stays in SYN-SENT for tcp_syn_retries (no ARP/NDP failure ends it).
func deadPeer(t *testing.T, cidr, peer string) {
	t.Helper()
	fam := "-4"
	extra := []string{}
	if strings.Contains(cidr, ":") {
		fam, extra = "-6", []string{"nodad"}
	}
	for _, args := range [][]string{
		{"link", "add", "i15g", "type", "veth", "peer", "name", "i15h"},
		append([]string{fam, "addr", "add", cidr, "dev", "i15g"}, extra...),
		{"link", "set", "i15g", "up"}, {"link", "set", "i15h", "up"},
		{fam, "neigh", "replace", peer, "lladdr", "02:00:00:00:15:02", "dev", "i15g", "nud", "permanent"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
}

// connectDead starts a connect to addr that stays in SYN-SENT until the test
// ends, and waits until the kernel shows it.
func connectDead(t *testing.T, network, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		var d net.Dialer
		if c, err := d.DialContext(ctx, network, addr); err == nil {
			c.Close()
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, _ := exec.Command("ss", "-Htn", "state", "syn-sent").CombinedOutput()
		if strings.Contains(string(out), addr) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no SYN-SENT socket to %s: %s", addr, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func checkFound(t *testing.T, s *Snapshot, walks int, remote string) {
	t.Helper()
	g := s.SynSent.Gate
	if g == nil || !strings.Contains(g.Walk, "neither listening nor established") || g.Others() != 1 {
		t.Errorf("gate %+v, want one socket neither listening nor established", g)
	}
	if !s.SynSent.Walked || walks != 1 || !s.ConnectingRead {
		t.Fatalf("walked=%v dumps=%d read=%v, want one walk", s.SynSent.Walked, walks, s.ConnectingRead)
	}
	for _, c := range s.Connecting {
		if c.Remote == remote {
			return
		}
	}
	t.Errorf("connect to %s not found among %+v", remote, s.Connecting)
}

// findsSynSent: among 20 established IPv4 connections, one connect to a peer
// that never answers (on a veth with address cidr) opens the gate and is
// found.
func findsSynSent(t *testing.T, cidr, peer, network, addr string) {
	holdEstablished(t, "tcp4", 20)
	deadPeer(t, cidr, peer)
	connectDead(t, network, addr)
	walks := 0
	checkFound(t, collectLocked(t, gateSource(&walks)), walks, addr)
}

func TestSynSentGateKernelFindsSynSent(t *testing.T) {
	if nstest.InPrivateNetns(t) {
		findsSynSent(t, "10.215.7.1/24", "10.215.7.2", "tcp4", "10.215.7.2:8080")
	}
}

// TestSynSentGateKernelFindsSynSentIPv6: the IPv6 connect is counted in
// sockstat6 only (tcpv6_prot), the established IPv4 connections in sockstat
// and CurrEstab: a gate reading sockstat alone would see 0 others and miss it.
func TestSynSentGateKernelFindsSynSentIPv6(t *testing.T) {
	if nstest.InPrivateNetns(t) {
		findsSynSent(t, "fd15::1/64", "fd15::2", "tcp6", "[fd15::2]:8080")
	}
}
