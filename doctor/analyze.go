package doctor

import (
	"slices"
	"time"
)

// Report is the doctor's answer.
type Report struct {
	Mode            string  `json:"mode"` // "interval" or "since_boot"
	IntervalSeconds float64 `json:"interval_seconds,omitempty"`
	Netns           string  `json:"netns,omitempty"`
	// Result: "healthy", "findings", or "unknown" (a source could not be
	// read and nothing was found: not healthy). Healthy is Result ==
	// "healthy".
	Result    string           `json:"result"`
	Healthy   bool             `json:"healthy"`
	Findings  []Finding        `json:"findings"`
	Listeners []ListenerReport `json:"listeners"`
	// Unavailable lists what could not be read: the report is silent about
	// it, which is not the same as healthy.
	Unavailable []Unavailable `json:"unavailable"`
	// Nginx is the configuration of the nginx owning a listener (nginx -T),
	// when there is one (AttachNginx).
	Nginx *NginxConfig `json:"nginx,omitempty"`
	// Notes are facts about the report itself (a context source not read).
	Notes []string `json:"notes,omitempty"`
}

// ListenerReport is a listener with what both readings say about it.
type ListenerReport struct {
	Listener
	// PeakQueue is the largest accept queue seen in the readings.
	PeakQueue uint32 `json:"peak_queue"`
	// Status: "ok", "near-limit" (>= 90% of max_queue) or "full".
	Status string `json:"status"`
	// BelowSomaxconn: max_queue < net.core.somaxconn, so raising somaxconn
	// alone does not help this listener.
	BelowSomaxconn bool `json:"below_somaxconn"`
	// DropsDelta: connections this listener refused with a full queue over
	// the interval (since the socket was created with --once), from its
	// own drop counter: a burst between two readings still names it.
	DropsDelta *uint64 `json:"drops_delta,omitempty"`
}

// Listener statuses.
const (
	StatusOK        = "ok"
	StatusNearLimit = "near-limit"
	StatusFull      = "full"
)

// rule turns a window (and the merged listener view) into findings.
type rule func(w *Window, ls []ListenerReport) []Finding

// rules run in this order; the report keeps it (most specific first).
var rules = []rule{
	acceptQueueRule,
	backlogBelowSomaxconnRule,
	synQueueRule,
	synFloodRule,
	softnetRule,
	ephemeralPortRule,
	timeWaitOverflowRule,
	orphanRule,
	tcpMemoryRule,
	keepaliveRaceRule,
	resetsReceivedRule,
	deadBackendRule,
	riskySettingRule,
}

// Analyze applies every rule to w.
func Analyze(w *Window) *Report {
	r := &Report{Mode: "since_boot", Findings: []Finding{}, Unavailable: []Unavailable{}}
	if !w.SinceBoot() {
		r.Mode = "interval"
		r.IntervalSeconds = w.Interval.Round(time.Millisecond).Seconds()
	}
	r.Listeners = mergeListeners(w)
	for _, rl := range rules {
		r.Findings = append(r.Findings, rl(w, r.Listeners)...)
	}
	tellSynBurst(w, r.Findings)
	markApplied(w, r.Findings)
	judgeHistory(w, r)
	r.Unavailable = append(r.Unavailable, w.After.Unavailable...)
	if w.Before != nil {
		for _, u := range w.Before.Unavailable {
			if !slices.Contains(r.Unavailable, u) {
				r.Unavailable = append(r.Unavailable, u)
			}
		}
	}
	r.Result = result(r)
	r.Healthy = r.Result == ResultHealthy
	return r
}

// mergeListeners joins the readings by socket inode: a listener seen in
// either reading is reported, with its largest queue.
func mergeListeners(w *Window) []ListenerReport {
	somax, haveSomax := w.After.Sysctls.Int(keySomaxconn, 0)
	var out []ListenerReport
	idx := map[uint32]int{}
	add := func(l Listener) {
		if i, ok := idx[l.Inode]; ok && l.Inode != 0 {
			out[i].PeakQueue = max(out[i].PeakQueue, l.Queue)
			if out[i].PID == 0 {
				out[i].PID, out[i].Process = l.PID, l.Process
			}
			return
		}
		idx[l.Inode] = len(out)
		out = append(out, ListenerReport{Listener: l, PeakQueue: l.Queue})
	}
	for _, l := range w.After.Listeners { // after first: its queue is "now"
		add(l)
	}
	if w.Before != nil {
		for _, l := range w.Before.Listeners {
			add(l)
		}
	}
	before := map[uint32]*uint32{}
	if w.Before != nil {
		for _, l := range w.Before.Listeners {
			if l.Inode != 0 {
				before[l.Inode] = l.Drops
			}
		}
	}
	for i := range out {
		if p, ok := w.Peaks[out[i].Inode]; ok && out[i].Inode != 0 {
			out[i].PeakQueue = max(out[i].PeakQueue, p)
		}
		if a := out[i].Drops; a != nil {
			if w.Before == nil {
				d := uint64(*a)
				out[i].DropsDelta = &d
			} else if b := before[out[i].Inode]; b != nil && *a >= *b {
				d := uint64(*a - *b)
				out[i].DropsDelta = &d
			}
		}
		out[i].Status = queueStatus(out[i].PeakQueue, out[i].MaxQueue)
		out[i].BelowSomaxconn = haveSomax && int64(out[i].MaxQueue) < somax
	}
	slices.SortStableFunc(out, func(a, b ListenerReport) int { return int(a.Port) - int(b.Port) })
	if out == nil {
		out = []ListenerReport{}
	}
	return out
}

// queueStatus: the kernel calls an accept queue full when it holds more than
// max entries (sk_acceptq_is_full, include/net/sock.h, Linux 4.x+: ">"), so
// a queue at max already refuses the next connection in older kernels and
// is one away from it in newer ones: both count as full here.
func queueStatus(q, max uint32) string {
	switch {
	case q > 0 && q >= max:
		return StatusFull
	case max > 0 && uint64(q)*10 >= uint64(max)*9:
		return StatusNearLimit
	}
	return StatusOK
}

// busy returns the listeners at or near their limit, or that refused
// connections with a full queue in the window (their drop counter rose).
func busy(ls []ListenerReport) []ListenerReport {
	var out []ListenerReport
	for _, l := range ls {
		if l.Status != StatusOK || l.DropsDelta != nil && *l.DropsDelta > 0 {
			out = append(out, l)
		}
	}
	return out
}
