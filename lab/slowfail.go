package lab

import (
	"context"
	"fmt"
	"github.com/tcptune/tcptune/resettrace"
	"net"
	"time"
)

// slow-failure: a server that stops accepting (hung, overloaded) keeps its
// listening socket, so clients get no RST: their SYNs are dropped while the
// accept queue is full and connect() retransmits before it fails with
// ETIMEDOUT. How long that takes depends on the kernel: up to 6.4 the SYN
// is sent tcp_syn_retries+1 times with the timeout doubling from 1 s (127 s
// for the default 6); since 6.5 tcp_syn_linear_timeouts (default 4) adds
// that many retransmissions at a fixed 1 s before the doubling starts
// (tcp_write_timeout, net/ipv4/tcp_timer.c;
// https://www.kernel.org/doc/html/latest/networking/ip-sysctl.html). The
// lab measures it rather than computing it.
//
// The before phase is bounded: clients still connecting at slowBound are
// reported as pending, with the retransmissions so far.

const (
	slowBound = 30 * time.Second
	// slowListenBacklog: the smallest queue, so two connections pin it full.
	slowListenBacklog = 1
	slowMaxFill       = 8
)

func init() {
	register(&Scenario{
		Name:     "slow-failure",
		Summary:  "clients of a listener whose accept queue is pinned full: how long until connect() fails",
		Profile:  "fail-fast",
		Clients:  10,
		Before:   []KV{{"net.ipv4.tcp_syn_retries", "6"}},
		Watch:    []string{"net.ipv4.tcp_syn_linear_timeouts"},
		Counters: []string{"TcpExt.TCPSynRetrans", "TcpExt.ListenOverflows", "TcpExt.ListenDrops", "Tcp.AttemptFails"},
		// The pinned connections are still queued when the server stops:
		// closing the listener resets them (the trace's listener-closed).
		// The slow failure itself sends no reset: the SYNs go unanswered.
		ExpectCause: resettrace.ListenerClosed,
		run:         runSlowFailure,
	})
}

func runSlowFailure(ctx context.Context, env *Env) (*Phase, error) {
	ln, err := listenTCP(labPort, slowListenBacklog)
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	// Pin the queue: connect until a handshake no longer completes; nobody
	// ever accepts these.
	var pinned []net.Conn
	defer func() {
		for _, c := range pinned {
			c.Close()
		}
	}()
	for range slowMaxFill {
		c, err := net.DialTimeout("tcp4", ln.Addr().String(), 300*time.Millisecond)
		if err != nil {
			break
		}
		pinned = append(pinned, c)
	}
	as := burstClients(ctx, env.Clients, func(ctx context.Context) attempt {
		start := time.Now()
		ctx, cancel := context.WithTimeout(ctx, slowBound)
		defer cancel()
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp4", ln.Addr().String())
		if err == nil {
			c.Close()
		}
		return attempt{class: classify(err, true), elapsed: time.Since(start), err: err}
	})
	p := &Phase{BoundMs: slowBound.Milliseconds()}
	tally(as, p)
	p.Notes = append(p.Notes, fmt.Sprintf("listen(backlog=%d) never accepted, queue pinned by %d connections; clients wait at most %s",
		slowListenBacklog, len(pinned), slowBound))
	return p, nil
}
