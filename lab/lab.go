// Package lab reproduces, in throwaway network namespaces, the failures the
// built-in profiles address, and measures a profile's effect before and
// after it is applied.
//
// A run never touches the machine's own settings. The parent (Run) re-execs
// the tcptune binary with CLONE_NEWNET, so the child starts in a brand-new
// network namespace that disappears with it. The child (ChildMain):
//
//  1. checks that its namespace differs from the parent's (netns.CheckPrivate) and
//     refuses to go on otherwise;
//  2. brings up lo, the only device, so all traffic stays inside;
//  3. sets the scenario's documented "before" state through sysctl.FS;
//  4. runs the workload (a fresh server, bounded clients) and reads the
//     namespace's own kernel counters around it;
//  5. applies the profile through apply.Apply, exactly as `tcptune apply`
//     would, with a temporary state directory and no persisted file;
//  6. starts the server again (a listener sees a new somaxconn only when it
//     listens again) and repeats the workload;
//  7. prints one JSON result on stdout for the parent.
//
// Every loop is bounded in count and in time, and every process the lab
// starts (nginx, hping3) is killed by PID when its phase ends.
package lab

import (
	"time"

	"github.com/tcptune/tcptune/apply"
)

// Outcomes counts client attempts by how they ended. The classes are
// disjoint and sum to Attempts.
type Outcomes struct {
	Attempts int `json:"attempts"`
	OK       int `json:"ok"`
	// Reset: "connection reset by peer" (ECONNRESET), e.g. a full accept
	// queue with tcp_abort_on_overflow=1.
	Reset int `json:"reset"`
	// EOF: the server closed the connection under the request (the
	// keepalive race when the FIN arrives before the reset).
	EOF int `json:"eof"`
	// Refused: ECONNREFUSED, no listener or a RST to the SYN.
	Refused int `json:"refused"`
	// Timeout: the kernel gave up (ETIMEDOUT after tcp_syn_retries) or the
	// client's own deadline expired.
	Timeout int `json:"timeout"`
	// AddrNotAvail: EADDRNOTAVAIL, no free local port to connect from.
	AddrNotAvail int `json:"addr_not_avail"`
	// Pending: still connecting when the scenario's bound ran out; not a
	// failure the client saw (yet).
	Pending int `json:"pending"`
	Other   int `json:"other"`
}

func (o *Outcomes) add(p Outcomes) {
	o.Attempts += p.Attempts
	o.OK += p.OK
	o.Reset += p.Reset
	o.EOF += p.EOF
	o.Refused += p.Refused
	o.Timeout += p.Timeout
	o.AddrNotAvail += p.AddrNotAvail
	o.Pending += p.Pending
	o.Other += p.Other
}

// Phase is the measurement of one workload run (before or after), or their
// sum over runs in a Report.
type Phase struct {
	Outcomes
	// Settings are the live values of the scenario's keys during the phase,
	// read from the namespace, dotted name -> value.
	Settings map[string]string `json:"settings"`
	// Counters are deltas of the namespace's kernel counters over the
	// workload ("TcpExt.ListenOverflows"); a counter this kernel lacks is
	// absent, not zero.
	Counters map[string]int64 `json:"counters"`
	// LatencyP50Ms / P99Ms: time from dial to reply of successful clients.
	LatencyP50Ms *float64 `json:"latency_p50_ms"`
	LatencyP99Ms *float64 `json:"latency_p99_ms"`
	// FailP50Ms / FailMaxMs: time until failing clients got their error.
	FailP50Ms *float64 `json:"fail_p50_ms"`
	FailMaxMs *float64 `json:"fail_max_ms"`
	// BoundMs is how long the workload waited at most; clients still
	// connecting then are Pending.
	BoundMs    int64 `json:"bound_ms"`
	DurationMs int64 `json:"duration_ms"`
	// Notes are facts the workload wants in the report (e.g. flood size).
	Notes []string `json:"notes,omitempty"`
	// Trace is what the reset tracer saw in the namespace during the phase.
	Trace *PhaseTrace `json:"trace,omitempty"`
	// Queue is the lab listener's accept queue over the phase (the first
	// run's, in a Report).
	Queue []QueuePoint `json:"queue,omitempty"`

	okSamples   []float64
	failSamples []float64
}

// RunResult is one run: a fresh namespace, both phases, the apply between.
type RunResult struct {
	Netns  string          `json:"netns"`
	Before Phase           `json:"before"`
	Apply  []apply.Setting `json:"apply"`
	After  Phase           `json:"after"`
	// Samples carry the raw latencies from the child to the parent, which
	// computes the percentiles over all runs and then drops them.
	Samples *samples `json:"samples,omitempty"`
}

type samples struct {
	BeforeOK   []float64 `json:"before_ok_ms"`
	BeforeFail []float64 `json:"before_fail_ms"`
	AfterOK    []float64 `json:"after_ok_ms"`
	AfterFail  []float64 `json:"after_fail_ms"`
}

// Report is the result of `tcptune lab run`: every run, and the phases
// summed over runs (counts and counters added, percentiles over all samples).
type Report struct {
	Scenario    string            `json:"scenario"`
	Profile     string            `json:"profile"`
	Clients     int               `json:"clients"`
	Kernel      string            `json:"kernel"`
	Date        time.Time         `json:"date"`
	BeforeState map[string]string `json:"before_state"`
	Runs        []RunResult       `json:"runs"`
	Before      Phase             `json:"before"`
	After       Phase             `json:"after"`
	// Skipped says why the scenario did not run (a missing binary); the
	// other fields are then empty.
	Skipped string `json:"skipped,omitempty"`
	// TraceCheck: the before phase's dominant reset cause against the one
	// the scenario builds.
	TraceCheck *TraceCheck `json:"trace_check,omitempty"`
}
