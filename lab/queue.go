package lab

import (
	"sync"
	"time"

	"github.com/tcptune/tcptune/doctor"
)

// QueuePoint is one reading of the lab listener's accept queue
// (127.0.0.1:8001, inet_diag) during a phase.
type QueuePoint struct {
	Ms    int64  `json:"ms"`
	Queue uint32 `json:"queue"`
	Max   uint32 `json:"max"`
}

// queueEvery is how often the queue is read: often enough to see a burst
// fill it, cheap enough (one netlink dump) not to slow the workload.
const queueEvery = 25 * time.Millisecond

// maxQueuePoints bounds the readings kept per phase (a 5-minute phase).
const maxQueuePoints = 12000

// sampleQueue reads the lab listener's queue until stop is called and
// returns the readings (none when no listener was ever on labPort).
func sampleQueue() (stop func() []QueuePoint) {
	var (
		mu     sync.Mutex
		points []QueuePoint
		done   = make(chan struct{})
		wg     sync.WaitGroup
	)
	start := time.Now()
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(queueEvery)
		defer t.Stop()
		for {
			if ls, err := doctor.LiveListeners(); err == nil {
				for _, l := range ls {
					if l.Port == labPort {
						mu.Lock()
						if len(points) < maxQueuePoints {
							points = append(points, QueuePoint{Ms: time.Since(start).Milliseconds(), Queue: l.Queue, Max: l.MaxQueue})
						}
						mu.Unlock()
						break
					}
				}
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() []QueuePoint {
		close(done)
		wg.Wait()
		return downsample(points, keepQueuePoints)
	}
}

// keepQueuePoints is how many readings a phase keeps for the report and the
// picture (one SVG polyline; the JSON stays small).
const keepQueuePoints = 300

// downsample keeps at most n points: each kept point is the fullest reading
// of its stretch, so a burst between two kept points still shows.
func downsample(ps []QueuePoint, n int) []QueuePoint {
	if len(ps) <= n {
		return ps
	}
	out := make([]QueuePoint, 0, n)
	for i := range n {
		lo, hi := i*len(ps)/n, (i+1)*len(ps)/n
		best := ps[lo]
		for _, p := range ps[lo:hi] {
			if p.Queue > best.Queue {
				best = p
			}
		}
		out = append(out, best)
	}
	return out
}
