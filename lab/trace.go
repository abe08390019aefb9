package lab

import (
	"fmt"
	"slices"
	"syscall"

	"github.com/tcptune/tcptune/resettrace"
)

// PhaseTrace is what doctor --trace's tracer saw in the run's namespace
// during one phase: the resets this namespace sent, by cause, and those it
// received. The lab checks the dominant cause against the scenario's.
type PhaseTrace struct {
	// Unavailable says why there is no trace (BPF refused, no BTF); the
	// other fields are then empty.
	Unavailable string `json:"unavailable,omitempty"`
	// Sent counts resets sent in the namespace, by cause.
	Sent     map[resettrace.Cause]int `json:"sent"`
	Received int                      `json:"received"`
	// Dominant is the cause of most resets sent ("" for none).
	Dominant resettrace.Cause `json:"dominant"`
}

// TraceCheck compares the before phase's dominant cause, over every run,
// with the one the scenario builds.
type TraceCheck struct {
	Expected resettrace.Cause `json:"expected"`
	Dominant resettrace.Cause `json:"dominant"`
	OK       bool             `json:"ok"`
	// Unavailable: the trace could not run; nothing was checked.
	Unavailable string `json:"unavailable,omitempty"`
}

// startTrace attaches the reset tracer (BPF only: the tracefs fallback
// cannot tell namespaces apart) and returns the function that ends it.
func startTrace(sc *Scenario) func() *PhaseTrace {
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/thread-self/ns/net", &st); err != nil {
		return func() *PhaseTrace { return &PhaseTrace{Unavailable: err.Error()} }
	}
	self := uint32(st.Ino)
	t, err := resettrace.Start(resettrace.Options{NoFallback: true})
	if err != nil {
		return func() *PhaseTrace { return &PhaseTrace{Unavailable: err.Error()} }
	}
	return func() *PhaseTrace {
		var mine []resettrace.Event
		for _, e := range t.Stop() {
			if e.Netns != self || e.Direction == resettrace.Sent && slices.Contains(sc.TraceIgnorePorts, e.Local.Port()) {
				continue
			}
			mine = append(mine, e)
		}
		pt := &PhaseTrace{Sent: map[resettrace.Cause]int{}}
		rows := resettrace.Aggregate(mine)
		for _, r := range rows {
			if r.Direction == resettrace.Sent {
				pt.Sent[r.Cause] += r.Count
			} else {
				pt.Received += r.Count
			}
		}
		pt.Dominant = dominant(pt.Sent)
		return pt
	}
}

func dominant(sent map[resettrace.Cause]int) resettrace.Cause {
	best, n := resettrace.Cause(""), 0
	for _, c := range resettrace.Causes {
		if sent[c] > n {
			best, n = c, sent[c]
		}
	}
	return best
}

// addTrace sums b into a (over runs).
func addTrace(a **PhaseTrace, b *PhaseTrace) {
	if b == nil {
		return
	}
	if *a == nil {
		*a = &PhaseTrace{Sent: map[resettrace.Cause]int{}}
	}
	if b.Unavailable != "" {
		(*a).Unavailable = b.Unavailable
	}
	for c, n := range b.Sent {
		(*a).Sent[c] += n
	}
	(*a).Received += b.Received
	(*a).Dominant = dominant((*a).Sent)
}

// checkTrace fills r.TraceCheck from the summed before phase.
func (r *Report) checkTrace() {
	sc, ok := Lookup(r.Scenario)
	if !ok || r.Before.Trace == nil {
		return
	}
	c := &TraceCheck{Expected: sc.ExpectCause, Dominant: r.Before.Trace.Dominant, Unavailable: r.Before.Trace.Unavailable}
	c.OK = c.Unavailable == "" && c.Expected == c.Dominant
	r.TraceCheck = c
}

// traceNote is the report's line about the trace.
func (r *Report) traceNote() string {
	c := r.TraceCheck
	if c == nil {
		return ""
	}
	if c.Unavailable != "" {
		return "reset trace unavailable: " + c.Unavailable
	}
	verdict := "as the scenario builds"
	if !c.OK {
		verdict = fmt.Sprintf("MISMATCH: the scenario builds %s", orNone(c.Expected))
	}
	return fmt.Sprintf("reset trace (doctor --trace) before: %s, after: %s; dominant cause before: %s (%s)",
		traceCounts(r.Before.Trace), traceCounts(r.After.Trace), orNone(c.Dominant), verdict)
}

func traceCounts(t *PhaseTrace) string {
	if t == nil {
		return "-"
	}
	s := ""
	for _, c := range resettrace.Causes {
		if n := t.Sent[c]; n > 0 {
			s += fmt.Sprintf("%s %d, ", c, n)
		}
	}
	s += fmt.Sprintf("received %d", t.Received)
	return s
}

func orNone(c resettrace.Cause) string {
	if c == "" {
		return "no resets"
	}
	return string(c)
}
