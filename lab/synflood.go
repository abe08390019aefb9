package lab

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"time"

	"github.com/vishvananda/netlink"
)

// syn-flood: hping3 sends SYNs from a spoofed address to the lab server
// while legitimate clients connect. Each spoofed SYN takes a SYN-queue slot
// that its SYN-ACK retransmissions (tcp_synack_retries) keep busy; with
// syncookies off, a full queue drops every SYN, the legitimate ones too.
// With syncookies on, a full queue answers with a cookie instead, and the
// legitimate clients complete their handshakes.
//
// The spoofed source must be routable from the server's address, or the
// kernel drops the SYN before queueing it (tcp_conn_request routes the
// SYN-ACK first). A SYN-ACK from 127.0.0.1 can never leave lo, so a flood of
// 127.0.0.1 from a spoofed source fills nothing. The lab therefore adds a
// veth pair inside its namespace, puts 10.99.0.1/24 on one end, and runs
// the server on 10.99.0.1: hping3's SYNs to it are delivered locally (over
// lo, like 127.0.0.1), and the SYN-ACKs to the spoofed 10.99.0.2 go out the
// veth, whose other end has no address and answers nothing. Both ends and
// the address exist only in the lab's private namespace, and hping3 is
// started only after the target is checked to be an address of it.

const (
	floodCount    = 40000
	floodInterval = "u100" // hping3 -i: 100 µs between packets
	floodSpoofed  = "10.99.0.2"
	floodNet      = "10.99.0.1/24"
	floodLimit    = 20 * time.Second // hping3 is killed after this
	floodLead     = 500 * time.Millisecond
	synClientWait = 3 * time.Second
)

func init() {
	register(&Scenario{
		Name:    "syn-flood",
		Summary: "a SYN flood (hping3) plus legitimate clients: how many legitimate connects succeed",
		Profile: "syn-flood",
		Clients: 200,
		Before: []KV{
			{"net.ipv4.tcp_syncookies", "0"},
			{"net.ipv4.tcp_max_syn_backlog", "128"},
			{"net.core.somaxconn", "128"},
			{"net.ipv4.tcp_synack_retries", "5"},
		},
		Counters: []string{"TcpExt.TCPReqQFullDrop", "TcpExt.TCPReqQFullDoCookies", "TcpExt.SyncookiesSent",
			"TcpExt.SyncookiesRecv", "TcpExt.ListenDrops", "Tcp.PassiveOpens"},
		Needs: []string{"hping3"},
		run:   runSynFlood,
	})
}

func runSynFlood(ctx context.Context, env *Env) (*Phase, error) {
	target, err := spoofRoute()
	if err != nil {
		return nil, err
	}
	srv, err := startLineServerOn([4]byte(target.To4()), serverBacklog, 0)
	if err != nil {
		return nil, err
	}
	defer srv.close()

	fctx, cancel := context.WithTimeout(ctx, floodLimit)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(fctx, "hping3", "-q", "-I", "lo", "-S", "-p", strconv.Itoa(labPort),
		"-a", floodSpoofed, "-i", floodInterval, "-c", strconv.Itoa(floodCount), target.String())
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start hping3: %w", err)
	}
	// Kill by PID whatever happens; Wait reaps it.
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	select {
	case <-time.After(floodLead):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	as := burstClients(ctx, env.Clients, func(ctx context.Context) attempt {
		return lineClient(ctx, srv.addr(), synClientWait, 0, false)
	})
	p := &Phase{BoundMs: synClientWait.Milliseconds()}
	tally(as, p)
	p.Notes = append(p.Notes, fmt.Sprintf("hping3 -S -a %s -i %s -c %d to %s:%d (a veth address inside the lab namespace); legitimate clients start %s into the flood, %s timeout each",
		floodSpoofed, floodInterval, floodCount, target, labPort, floodLead, synClientWait))
	return p, nil
}

// spoofRoute gives the namespace a route to the spoofed source: a veth pair
// with floodNet on one end. It returns the flood target, after checking it
// is an address of this namespace's own veth. Called again in the after
// phase, it finds the pair in place.
func spoofRoute() (net.IP, error) {
	addr, err := netlink.ParseAddr(floodNet)
	if err != nil {
		return nil, err
	}
	if _, err := netlink.LinkByName("labflood0"); err != nil {
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "labflood0"}, PeerName: "labflood1"}
		if err := netlink.LinkAdd(veth); err != nil {
			return nil, fmt.Errorf("add veth for the spoofed source: %w", err)
		}
		if err := netlink.AddrAdd(veth, addr); err != nil {
			return nil, fmt.Errorf("address the flood veth: %w", err)
		}
		for _, n := range []string{"labflood0", "labflood1"} {
			l, err := netlink.LinkByName(n)
			if err != nil {
				return nil, err
			}
			if err := netlink.LinkSetUp(l); err != nil {
				return nil, fmt.Errorf("set %s up: %w", n, err)
			}
		}
	}
	l, err := netlink.LinkByName("labflood0")
	if err != nil {
		return nil, err
	}
	addrs, err := netlink.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if a.IP.Equal(addr.IP) {
			return addr.IP, nil
		}
	}
	return nil, fmt.Errorf("flood target %s is not an address of labflood0: refusing to flood", addr.IP)
}
