package resettrace

import (
	"context"
	"time"
)

// Trace watches resets for d, or until ctx is done (Ctrl-C), and reports
// them. progress, when set, is called about twice a second with the
// elapsed time and the number of events so far.
func Trace(ctx context.Context, d time.Duration, opts Options, progress func(elapsed, total time.Duration, events int)) (*Report, error) {
	t, err := Start(opts)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	timer := time.NewTimer(d)
	defer timer.Stop()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-timer.C:
			break loop
		case <-tick.C:
			if progress != nil {
				progress(time.Since(start), d, t.count())
			}
		}
	}
	lost := t.Lost()
	events := t.Stop()
	elapsed := time.Since(start)
	if progress != nil {
		progress(d, d, len(events))
	}
	return NewReport(events, start, elapsed, t.HasReason(), lost), nil
}

func (t *Tracer) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.events)
}
