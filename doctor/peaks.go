package doctor

import (
	"context"
	"time"
)

// peakEvery is how often listeners are read between the two readings: a
// LISTEN-only inet_diag dump, whose cost does not grow with connections.
const peakEvery = 250 * time.Millisecond

// waitSampling is wait that also reads the listeners every peakEvery and
// returns the largest accept queue seen per socket inode, so a queue that
// filled and drained between the two readings is still seen full. Without
// a listener source it is wait.
func waitSampling(ctx context.Context, d time.Duration, progress func(elapsed, total time.Duration), read func() ([]Listener, error)) (map[uint32]uint32, error) {
	if read == nil {
		return nil, wait(ctx, d, progress)
	}
	peaks := map[uint32]uint32{}
	sample := func() {
		ls, err := read()
		if err != nil {
			return // the readings record the failure; peaks are best effort
		}
		for _, l := range ls {
			if l.Inode != 0 && l.Queue > peaks[l.Inode] {
				peaks[l.Inode] = l.Queue
			}
		}
	}
	t := time.NewTicker(peakEvery)
	defer t.Stop()
	done := make(chan error, 1)
	// The sampling stays on this goroutine: its OS thread is the one in the
	// diagnosed namespace (netlink sockets follow the opener's namespace).
	go func() { done <- wait(ctx, d, progress) }()
	for {
		select {
		case err := <-done:
			return peaks, err
		case <-t.C:
			sample()
		}
	}
}
