//go:build tcptune_ext

package reconcile

import (
	"bytes"
	"fmt"

	"github.com/tcptune/tcptune/resettrace"
)

// ResetMetrics renders a `doctor --trace` report in the Prometheus text
// format, with the same header and label escaping as Metrics. Every cause
// gets a sample, zero included: the tracer ran and saw none, which is not
// the same as a file without the family.
func ResetMetrics(r *resettrace.Report) []byte {
	var b bytes.Buffer
	metric := func(name, typ, help string) { writeHeader(&b, name, typ, help) }

	metric("tcptune_trace_resets_by_cause", "gauge", "TCP resets seen during the last doctor --trace run, by cause (sent by this host, or reset-received).")
	per := map[resettrace.Cause]int{}
	for _, row := range r.Rows {
		per[row.Cause] += row.Count
	}
	for _, c := range resettrace.Causes {
		fmt.Fprintf(&b, "tcptune_trace_resets_by_cause{cause=\"%s\"} %d\n", escapeLabel(string(c)), per[c])
	}

	metric("tcptune_trace_resets", "gauge", "TCP resets seen during the last doctor --trace run, per cause, direction, network namespace and local endpoint.")
	for _, row := range r.Rows {
		fmt.Fprintf(&b, "tcptune_trace_resets{cause=\"%s\",direction=\"%s\",netns=\"%s\",local=\"%s\"} %d\n",
			escapeLabel(string(row.Cause)), escapeLabel(string(row.Direction)), escapeLabel(row.Netns.Name), escapeLabel(row.Local), row.Count)
	}

	metric("tcptune_trace_duration_seconds", "gauge", "How long the last doctor --trace run watched.")
	fmt.Fprintf(&b, "tcptune_trace_duration_seconds %g\n", r.DurationSeconds)
	metric("tcptune_trace_events_lost", "gauge", "Events the last doctor --trace run lost (ring buffer full).")
	fmt.Fprintf(&b, "tcptune_trace_events_lost %d\n", r.Lost)
	reason := 0
	if r.ReasonAvailable {
		reason = 1
	}
	metric("tcptune_trace_reason_available", "gauge", "1 when the kernel gave its reason for each reset (Linux 6.10+).")
	fmt.Fprintf(&b, "tcptune_trace_reason_available %d\n", reason)
	metric("tcptune_trace_last_run_timestamp_seconds", "gauge", "Unix time the last doctor --trace run started.")
	fmt.Fprintf(&b, "tcptune_trace_last_run_timestamp_seconds %s\n", unixSeconds(r.Started))
	return b.Bytes()
}
