package lab

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// port-exhaustion: many short connections from one client host to one
// destination. Each connection the client closes first holds its local port
// in TIME-WAIT for 60 s; once every port of ip_local_port_range is held,
// connect() fails with EADDRNOTAVAIL ("cannot assign requested address").
// A wider range and tcp_tw_reuse=1 (reuse a TIME-WAIT port for a new
// outgoing connection when timestamps make it safe) remove the failure.

const (
	portWorkers       = 8
	portClientTimeout = 5 * time.Second
)

func init() {
	register(&Scenario{
		Name:    "port-exhaustion",
		Summary: "many short connections to one destination from a narrow port range: EADDRNOTAVAIL",
		Profile: "high-concurrency",
		Clients: 1000,
		Before: []KV{
			// 200 ports, even start and odd end as ip-sysctl.rst advises.
			{"net.ipv4.ip_local_port_range", "40000 40199"},
			{"net.ipv4.tcp_tw_reuse", "0"},
		},
		Counters: []string{"TcpExt.TW", "TcpExt.TWRecycled", "Tcp.ActiveOpens", "Tcp.AttemptFails"},
		run:      runPortExhaustion,
	})
}

// runPortExhaustion makes env.Clients connections with a few workers, one
// after the other per worker, each closed by the client.
func runPortExhaustion(ctx context.Context, env *Env) (*Phase, error) {
	srv, err := startLineServer(serverBacklog, 0)
	if err != nil {
		return nil, err
	}
	defer srv.close()
	as := make([]attempt, env.Clients)
	next := make(chan int)
	var wg sync.WaitGroup
	for range portWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				as[i] = lineClient(ctx, srv.addr(), portClientTimeout, 0, false)
			}
		}()
	}
	for i := range env.Clients {
		next <- i
	}
	close(next)
	wg.Wait()
	p := &Phase{BoundMs: portClientTimeout.Milliseconds()}
	tally(as, p)
	p.Notes = append(p.Notes, fmt.Sprintf("%d workers, each connection closed by the client (TIME-WAIT on its side)", portWorkers))
	return p, nil
}
