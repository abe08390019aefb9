package resettrace

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/tcptune/tcptune/netns"
)

// BenchmarkResetEvents measures how many reset events per second the BPF
// tracer takes in: b.N connects to a closed port on loopback, each one a
// reset sent and one received. scripts/bench-trace.sh runs it inside
// `unshare -n` and passes the namespace it started from
// (TCPTUNE_NETNS_PARENT, netns.Parent), which the benchmark refuses to share.
func BenchmarkResetEvents(b *testing.B) {
	if err := netns.CheckPrivate(netns.Parent()); err != nil {
		b.Skipf("needs a private network namespace (scripts/bench-trace.sh): %v", err)
	}
	self := uint32(0)
	if ino, ok := statInode("/proc/self/ns/net"); ok {
		self = uint32(ino)
	}
	tr, err := Start(Options{})
	if err != nil {
		b.Fatal(err)
	}
	const workers = 8
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	per := (b.N + workers - 1) / workers
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				_, _ = net.DialTimeout("tcp4", "127.0.0.1:9", time.Second)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	lost := tr.Lost()
	events := tr.Stop()
	b.StopTimer()
	mine := 0
	for _, e := range events {
		if e.Netns == self {
			mine++
		}
	}
	want := 2 * per * workers
	b.ReportMetric(float64(mine)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(want-mine), "missed")
	b.ReportMetric(float64(lost), "lost")
}
