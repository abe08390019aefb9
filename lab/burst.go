package lab

import (
	"context"
	"fmt"
	"github.com/tcptune/tcptune/resettrace"
	"sync"
	"time"
)

// burst-resets: the seed's failure. A spike of clients against a server that
// accepts slower than they arrive overflows the accept queue, which is
// min(listen backlog, somaxconn) long; with tcp_abort_on_overflow=1 the
// kernel answers the handshake's final ACK with a RST and the client reads
// "connection reset by peer".

const (
	// burstAcceptRate is how many connections per second the slow server
	// accepts.
	burstAcceptRate = 500
	// burstClientTimeout bounds each client, dial to reply. It is long
	// enough for the last of 1000 clients to be accepted at 500/s.
	burstClientTimeout = 10 * time.Second
	// burstRTT is the round trip each client's handshake is given (see
	// lineClient): a few milliseconds, as between hosts in one region.
	burstRTT = 5 * time.Millisecond
)

var burstCounters = []string{
	"TcpExt.ListenOverflows", "TcpExt.ListenDrops", "TcpExt.EmbryonicRsts",
	"TcpExt.TCPSynRetrans", "Tcp.AttemptFails", "Tcp.OutRsts",
}

var burstBefore = []KV{
	{"net.core.somaxconn", "128"},
	{"net.ipv4.tcp_abort_on_overflow", "1"},
}

func init() {
	register(&Scenario{
		Name:        "burst-resets",
		Summary:     "a burst of clients against a slow-accepting server: accept-queue overflow -> connection reset by peer",
		Profile:     "high-concurrency",
		Clients:     1000,
		Before:      burstBefore,
		Watch:       []string{"net.ipv4.tcp_max_syn_backlog"},
		Counters:    burstCounters,
		ExpectCause: resettrace.AcceptQueueOverflow,
		run:         runBurst,
	})
}

func runBurst(ctx context.Context, env *Env) (*Phase, error) {
	srv, err := startLineServer(serverBacklog, burstAcceptRate)
	if err != nil {
		return nil, err
	}
	defer srv.close()
	as := burstClients(ctx, env.Clients, func(ctx context.Context) attempt {
		return lineClient(ctx, srv.addr(), burstClientTimeout, burstRTT, false)
	})
	p := &Phase{BoundMs: burstClientTimeout.Milliseconds()}
	tally(as, p)
	p.Notes = append(p.Notes, fmt.Sprintf("server listen(backlog=%d), accepts %d/s; client handshake RTT %s, timeout %s",
		serverBacklog, burstAcceptRate, burstRTT, burstClientTimeout))
	return p, nil
}

// burstClients starts n clients at once (behind a barrier, so they arrive as
// a spike) and waits for all of them; each is bounded by its own timeout.
func burstClients(ctx context.Context, n int, client func(context.Context) attempt) []attempt {
	as := make([]attempt, n)
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			as[i] = client(ctx)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return as
}
