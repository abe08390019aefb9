package resettrace

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/tcptune/tcptune/sysctl"
)

// Report is the answer of `tcptune doctor --trace`.
type Report struct {
	// Mechanism is how events were read: "bpf" (tp_btf programs) or
	// "tracefs" (the fallback instance; no namespaces).
	Mechanism       string    `json:"mechanism"`
	Started         time.Time `json:"started"`
	DurationSeconds float64   `json:"duration_seconds"`
	// ReasonAvailable is false on kernels before 6.10: causes then rest on
	// the socket state only.
	ReasonAvailable bool `json:"reason_available"`
	Events          int  `json:"events"`
	// Lost counts events dropped because the ring buffer was full.
	Lost uint64 `json:"lost"`
	Rows []Row  `json:"rows"`
	// Dominant is the cause of most resets this host sent (or
	// reset-received when it only received some); "" without resets.
	Dominant Cause `json:"dominant_cause"`
}

// Row is one cause at one local endpoint in one namespace.
type Row struct {
	Cause     Cause     `json:"cause"`
	Direction Direction `json:"direction"`
	Count     int       `json:"count"`
	// Local is the listener or the connection's local address:port;
	// "ADDR:*" when the local ports were ephemeral (a client's).
	Local string `json:"local"`
	// Remote is the most frequent remote endpoint: an address when the
	// remote ports vary (clients of a listener), else address:port.
	Remote string `json:"remote"`
	// Remotes counts distinct remote endpoints.
	Remotes int      `json:"remotes"`
	Netns   Netns    `json:"netns"`
	Process *Process `json:"process,omitempty"`
	// Reasons counts the kernel's reasons (enum sk_rst_reason names);
	// "unavailable" when the kernel gave none.
	Reasons   map[string]int `json:"reasons"`
	States    map[string]int `json:"states"`
	FirstSeen time.Time      `json:"first_seen"`
	LastSeen  time.Time      `json:"last_seen"`
	// Explanation says what happened, Fix what addresses it.
	Explanation string `json:"explanation"`
	Fix         Fix    `json:"fix"`
	// Examine names the host or namespace to examine when the reason is
	// the other side's (reset-received).
	Examine string `json:"examine,omitempty"`

	remotes map[string]int
}

// ephemeral is the local port range of the tracer's namespace: a local
// port inside it (with a remote port outside) is a client's.
func ephemeral() (lo, hi uint16) {
	lo, hi = 32768, 60999 // the kernel's default
	v, err := sysctl.NewFS("").Read(sysctl.MustKey("net.ipv4.ip_local_port_range"))
	if err != nil {
		return
	}
	if ns, err := v.Ints(); err == nil && len(ns) == 2 && ns[0] > 0 && ns[1] <= 65535 && ns[0] <= ns[1] {
		lo, hi = uint16(ns[0]), uint16(ns[1])
	}
	return
}

// Aggregate folds events into rows, one per cause, direction, namespace
// and local endpoint, the most frequent first.
func Aggregate(events []Event) []Row {
	lo, hi := ephemeral()
	isEph := func(p uint16) bool { return p >= lo && p <= hi }
	type key struct {
		cause Cause
		dir   Direction
		netns uint32
		local string
	}
	idx := map[key]int{}
	var rows []Row
	names := map[uint32]Netns{}
	for _, e := range events {
		c := Classify(e)
		local := e.Local.String()
		remote := e.Remote.Addr().String()
		clientSide := isEph(e.Local.Port()) && !isEph(e.Remote.Port())
		if clientSide {
			local = addrString(e.Local.Addr()) + ":*"
			remote = e.Remote.String()
		}
		k := key{c, e.Direction, e.Netns, local}
		i, ok := idx[k]
		if !ok {
			ns, ok := names[e.Netns]
			if !ok {
				ns = NetnsResolver(e.Netns)
				names[e.Netns] = ns
			}
			i = len(rows)
			idx[k] = i
			rows = append(rows, Row{Cause: c, Direction: e.Direction, Local: local, Netns: ns,
				Reasons: map[string]int{}, States: map[string]int{}, FirstSeen: e.Time,
				Explanation: Explain(c), Fix: FixFor(c), remotes: map[string]int{}})
		}
		r := &rows[i]
		r.Count++
		r.LastSeen = e.Time
		r.remotes[remote]++
		rsn := e.ReasonName
		if rsn == "" {
			rsn = "unavailable"
		}
		r.Reasons[rsn]++
		if s := StateName(e.State); s != "" {
			r.States[s]++
		} else {
			r.States["NO_SOCKET"]++
		}
		if r.Process == nil {
			r.Process = process(e)
		}
	}
	for i := range rows {
		r := &rows[i]
		r.Remotes = len(r.remotes)
		best := 0
		for rem, n := range r.remotes {
			if n > best || (n == best && rem < r.Remote) {
				r.Remote, best = rem, n
			}
		}
		if r.Cause == ResetReceived {
			r.Examine = fmt.Sprintf("the host or namespace that owns %s: run 'tcptune doctor --trace' there", r.Remote)
		}
	}
	order := map[Cause]int{}
	for i, c := range Causes {
		order[c] = i
	}
	slices.SortStableFunc(rows, func(a, b Row) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		if order[a.Cause] != order[b.Cause] {
			return order[a.Cause] - order[b.Cause]
		}
		return strings.Compare(a.Local, b.Local)
	})
	if rows == nil {
		rows = []Row{}
	}
	return rows
}

func addrString(a netip.Addr) string {
	if a.Is6() {
		return "[" + a.String() + "]"
	}
	return a.String()
}

// process names the owner of e's socket as far as the event tells.
func process(e Event) *Process {
	p := &Process{}
	cg := e.SocketCgroup
	if processContext(e) {
		p.PID, p.Comm = e.PID, e.Comm
		cg = e.CurrentCgroup
	}
	if path, ok := cgroupPath(cg); ok {
		describeCgroup(p, path)
	}
	if *p == (Process{}) {
		return nil
	}
	return p
}

// Dominant is the cause with most resets sent; reset-received when this
// host only received resets; "" when there were none.
func Dominant(rows []Row) Cause {
	count := map[Cause]int{}
	best, bestN := Cause(""), 0
	for _, r := range rows {
		if r.Direction == Sent {
			count[r.Cause] += r.Count
		}
	}
	for _, c := range Causes {
		if count[c] > bestN {
			best, bestN = c, count[c]
		}
	}
	if best == "" {
		for _, r := range rows {
			if r.Direction == Received {
				return ResetReceived
			}
		}
	}
	return best
}

// NewReport builds the report of events seen from started for d.
func NewReport(events []Event, started time.Time, d time.Duration, reasonAvailable bool, lost uint64) *Report {
	rows := Aggregate(events)
	return &Report{Mechanism: "bpf", Started: started, DurationSeconds: d.Round(time.Millisecond).Seconds(),
		ReasonAvailable: reasonAvailable, Events: len(events), Lost: lost, Rows: rows, Dominant: Dominant(rows)}
}

// Filter keeps only the rows of network namespace inode and recomputes the
// totals.
func (r *Report) Filter(inode uint32) {
	kept := []Row{}
	n := 0
	for _, row := range r.Rows {
		if row.Netns.Inode == inode {
			kept = append(kept, row)
			n += row.Count
		}
	}
	r.Rows, r.Events, r.Dominant = kept, n, Dominant(kept)
}
