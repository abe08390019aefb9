package doctor

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/tcptune/tcptune/netns"
)

// DefaultInterval is the time between the two readings.
const DefaultInterval = 5 * time.Second

// Options configure a doctor run.
type Options struct {
	Source Source
	// Interval between the two readings; ignored with Once.
	Interval time.Duration
	// Once takes a single reading: counters are read as accumulated since
	// boot (or since the namespace was created).
	Once bool
	// Netns, when its Path is set, is the network namespace to diagnose.
	Netns netns.Target
	// Progress, when set, is called about every 250 ms while waiting
	// between the readings (a terminal progress indicator).
	Progress func(elapsed, total time.Duration)
	// StateDir, when set, is tcptune's state directory: its transaction
	// records say which keys tcptune changed during the window, so counters
	// are not explained by values that were not in force yet. Read only.
	StateDir string
}

// Window is what the rules look at: two readings, or one with Before nil
// for the since-boot view.
type Window struct {
	Before   *Snapshot
	After    *Snapshot
	Interval time.Duration // measured between the readings; 0 when Before is nil
	// Peaks are the largest accept queues seen between the readings, by
	// socket inode (waitSampling).
	Peaks map[uint32]uint32
	// History is what tcptune changed during the window (Options.StateDir);
	// nil when not read.
	History *History
}

// SinceBoot reports whether the window is the single-reading view.
func (w *Window) SinceBoot() bool { return w.Before == nil }

// Sample takes the readings. With Netns every reading happens on one
// locked thread inside that namespace; otherwise on a locked thread too, so
// /proc/thread-self keeps naming the same task for both readings.
func Sample(ctx context.Context, o Options) (*Window, error) {
	var w *Window
	run := func() error {
		var err error
		w, err = sample(ctx, o)
		return err
	}
	if o.Netns.Path != "" {
		if o.Source.ProcRoot != DefaultProcRoot {
			return nil, fmt.Errorf("--netns needs the live proc tree (%s), not %s", DefaultProcRoot, o.Source.ProcRoot)
		}
		if err := netns.Do(o.Netns, run); err != nil {
			return nil, err
		}
	} else {
		runtime.LockOSThread()
		err := run()
		runtime.UnlockOSThread()
		if err != nil {
			return nil, err
		}
	}
	w.After.attachOwners(o.Source.ProcRoot)
	attachHistory(w, o.Source.ProcRoot, o.StateDir)
	return w, nil
}

func sample(ctx context.Context, o Options) (*Window, error) {
	first, err := Collect(o.Source)
	if err != nil {
		return nil, err
	}
	if o.Once {
		return &Window{After: first}, nil
	}
	interval := o.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	peaks, err := waitSampling(ctx, interval, o.Progress, o.Source.Listeners)
	if err != nil {
		return nil, err
	}
	second, err := Collect(o.Source)
	if err != nil {
		return nil, err
	}
	return &Window{Before: first, After: second, Interval: second.Time.Sub(first.Time), Peaks: peaks}, nil
}

// wait sleeps for d, reporting progress, and returns early with ctx's error.
func wait(ctx context.Context, d time.Duration, progress func(elapsed, total time.Duration)) error {
	start := time.Now()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	var tick <-chan time.Time
	if progress != nil {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		tick = t.C
		progress(0, d)
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			if progress != nil {
				progress(d, d)
			}
			return nil
		case <-tick:
			progress(time.Since(start), d)
		}
	}
}
