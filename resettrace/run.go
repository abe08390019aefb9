package resettrace

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Trace watches resets for d, or until ctx is done (Ctrl-C), and reports
// them. progress, when set, is called about twice a second with the
// elapsed time and the number of events so far.
func Trace(ctx context.Context, d time.Duration, opts Options, progress func(elapsed, total time.Duration, events int)) (*Report, error) {
	t, mech, err := startAny(opts)
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
	lost := t.lost()
	events := t.Stop()
	elapsed := time.Since(start)
	if progress != nil {
		progress(d, d, len(events))
	}
	r := NewReport(events, start, elapsed, t.reasonAvailable(), lost)
	r.Mechanism = mech
	return r, nil
}

// backend is the BPF tracer or the tracefs fallback.
type backend interface {
	Stop() []Event
	count() int
	lost() uint64
	reasonAvailable() bool
}

func (t *Tracer) lost() uint64          { return t.Lost() }
func (t *Tracer) reasonAvailable() bool { return t.HasReason() }

func (t *tracefsTracer) lost() uint64          { return 0 }
func (t *tracefsTracer) reasonAvailable() bool { return t.hasRsn }

// startAny starts the BPF tracer, or the tracefs fallback when the kernel
// refuses BPF or lacks what it needs; when both fail, the BPF error is the
// one reported, with the fallback's.
func startAny(opts Options) (backend, string, error) {
	if opts.Tracefs {
		ft, err := startTracefs(opts)
		return ft, "tracefs", err
	}
	t, err := Start(opts)
	if err == nil {
		return t, "bpf", nil
	}
	if opts.NoFallback || !(errors.Is(err, ErrUnsupported) || errors.Is(err, ErrNotPermitted)) {
		return nil, "", err
	}
	ft, ferr := startTracefs(opts)
	if ferr != nil {
		return nil, "", fmt.Errorf("%w (tracefs fallback: %v)", err, ferr)
	}
	return ft, "tracefs", nil
}

func (t *Tracer) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.events)
}
