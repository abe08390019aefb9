package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/sysctl"
)

// AllReport is `tcptune doctor --all-netns`: one Report per network
// namespace on the machine that has listeners.
type AllReport struct {
	Mode            string  `json:"mode"` // "interval" or "since_boot"
	IntervalSeconds float64 `json:"interval_seconds,omitempty"`
	// Result: "findings" when any namespace has a finding; else "unknown"
	// when a namespace's report is unknown or a namespace could not be
	// entered or read (not one that vanished meanwhile); else "healthy".
	Result string `json:"result"`
	// Healthy is Result == "healthy".
	Healthy    bool          `json:"healthy"`
	Namespaces []NetnsReport `json:"namespaces"`
	// WithoutListeners counts the namespaces found that have no listener
	// (not reported further).
	WithoutListeners int `json:"without_listeners"`
	// UnreadableProcesses counts processes whose namespace could not be
	// read: a namespace only they are in is missing from the report.
	UnreadableProcesses int `json:"unreadable_processes"`
	// Unavailable lists namespaces that could not be entered or read.
	Unavailable []Unavailable `json:"unavailable"`
}

// NetnsReport is one namespace of an AllReport.
type NetnsReport struct {
	// ID is the kernel's name, "net:[4026532180]"; Inode its number.
	ID    string `json:"id"`
	Inode uint64 `json:"inode"`
	// Path enters it (/run/netns/NAME or /proc/PID/ns/net): give it to
	// --netns.
	Path string `json:"path"`
	// Kind is "initial" or "child", from the kernel facts inside it.
	Kind string `json:"kind"`
	// Current: doctor itself runs in this namespace.
	Current bool       `json:"current"`
	Owner   NetnsOwner `json:"owner"`
	// Somaxconn is this namespace's own net.core.somaxconn: a new namespace
	// starts from the kernel default, not from the host's value.
	Somaxconn string  `json:"somaxconn,omitempty"`
	Report    *Report `json:"report"`
}

// AllOptions configure SampleAll.
type AllOptions struct {
	Interval time.Duration
	Once     bool
	Progress func(elapsed, total time.Duration)
	// StateDir, when set, names tcptune's state directory for a namespace
	// ("" skips it): its records judge that namespace's counters
	// (Options.StateDir). current is doctor's own namespace.
	StateDir func(ns netns.Namespace, current bool) string
}

// SampleAll diagnoses every network namespace that has listeners. Each is
// entered on a locked thread (netns.Do) for its readings: its counters come
// from /proc/thread-self/net, its sysctls from its own /proc/sys/net, its
// listeners from a netlink socket opened inside. With an interval, every
// namespace is read once, then once more after a single wait. Owners of
// all listeners are found in one pass over the fd tables.
func SampleAll(ctx context.Context, o AllOptions) (*AllReport, error) {
	nss, unreadable, err := netns.List()
	if err != nil {
		return nil, fmt.Errorf("list network namespaces: %w", err)
	}
	self, _ := netns.Self()
	rep := &AllReport{Mode: "since_boot", Namespaces: []NetnsReport{}, Unavailable: []Unavailable{}, UnreadableProcesses: unreadable}
	type probe struct {
		ns     netns.Namespace
		kind   netns.Kind
		before *Snapshot
		after  *Snapshot
	}
	var probes []*probe
	couldNotTell := false
	unavailable := func(ns netns.Namespace, err error) {
		rep.Unavailable = append(rep.Unavailable, Unavailable{Source: "netns " + ns.ID.String(), Reason: err.Error()})
		// A namespace whose processes exited since the listing is gone, not
		// unread.
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, unix.ESRCH) {
			couldNotTell = true
		}
	}
	read := func(p *probe, first bool) error {
		return netns.Do(p.ns.Target(), func() error {
			if first {
				p.kind = netns.Detect(sysctl.DefaultRoot).Kind
			}
			// Stuck connects too (dead-backend), behind the same gate as
			// doctor's own namespace: a namespace whose counters prove no
			// SYN-SENT socket costs no walk of the socket table.
			s, err := Collect(Source{ProcRoot: DefaultProcRoot, Sysctl: sysctl.NewFS(""), Listeners: LiveListeners,
				Connecting: LiveConnecting, GateConnecting: true})
			if err != nil {
				return err
			}
			if first {
				p.after = s
			} else {
				p.before, p.after = p.after, s
			}
			return nil
		})
	}
	for _, ns := range nss {
		p := &probe{ns: ns}
		if err := read(p, true); err != nil {
			unavailable(ns, err)
			continue
		}
		if p.after.ListenersRead && len(p.after.Listeners) == 0 {
			rep.WithoutListeners++
			continue
		}
		probes = append(probes, p)
	}
	var interval time.Duration
	if !o.Once && len(probes) > 0 {
		start := time.Now()
		if err := wait(ctx, o.Interval, o.Progress); err != nil {
			return nil, err
		}
		kept := probes[:0]
		for _, p := range probes {
			if err := read(p, false); err != nil {
				unavailable(p.ns, err)
				continue
			}
			kept = append(kept, p)
		}
		probes = kept
		interval = time.Since(start)
		rep.Mode, rep.IntervalSeconds = "interval", interval.Round(time.Millisecond).Seconds()
	}
	// One owner walk for every listener of every namespace (socket inodes
	// are unique machine-wide).
	var all []Listener
	for _, p := range probes {
		all = append(all, p.after.Listeners...)
	}
	AttachOwners(DefaultProcRoot, all)
	for _, p := range probes {
		n := copy(p.after.Listeners, all)
		all = all[n:]
		w := &Window{Before: p.before, After: p.after}
		if p.before != nil {
			w.Interval = p.after.Time.Sub(p.before.Time)
		}
		if o.StateDir != nil {
			attachHistory(w, DefaultProcRoot, o.StateDir(p.ns, p.ns.ID == self))
		}
		r := Analyze(w)
		r.Netns = p.ns.ID.String()
		nr := NetnsReport{
			ID: p.ns.ID.String(), Inode: p.ns.ID.Ino, Path: p.ns.Path, Kind: p.kind.String(),
			Current: p.ns.ID == self, Owner: namespaceOwner(DefaultProcRoot, p.ns.PIDs, p.ns.Names), Report: r,
		}
		if p.kind == netns.Initial {
			nr.Owner.Kind, nr.Owner.Name = "host", ""
		}
		if v, ok := p.after.Sysctls[keySomaxconn]; ok {
			nr.Somaxconn = v.String()
		}
		if !nr.Current {
			scopeFixes(&nr)
		}
		rep.Namespaces = append(rep.Namespaces, nr)
	}
	rep.Result = allResult(rep.Namespaces, couldNotTell)
	rep.Healthy = rep.Result == ResultHealthy
	return rep, nil
}

// scopeFixes rewrites the fixes of a namespace doctor does not run in: host
// tuning does not reach its namespaced keys, so the command targets the
// namespace, and the note gives the Kubernetes way.
func scopeFixes(nr *NetnsReport) {
	target := nr.Path
	if nr.Owner.Kind == "ip-netns" {
		target = nr.Owner.Name
	}
	for i := range nr.Report.Findings {
		f := &nr.Report.Findings[i].Fix
		namespaced := slices.ContainsFunc(f.Keys, func(k FixKey) bool { return !k.HostWide })
		if !namespaced {
			continue // host-wide keys: tuning the host is the fix
		}
		if f.Profile != "" {
			f.Command = fmt.Sprintf("tcptune apply --netns %s %s", target, f.Profile)
		} else {
			f.Command = strings.Replace(f.Command, "tcptune apply -f FILE", "tcptune apply --netns "+target+" -f FILE", 1)
		}
		f.Note = fmt.Sprintf("this listener is in network namespace %s (%s), which keeps its own values of namespaced keys: tuning the host does not reach it", nr.ID, nr.Owner)
		if nr.Owner.Kind == "pod" {
			prof := f.Profile
			if prof == "" {
				prof = "P"
			}
			f.Note += fmt.Sprintf("; in Kubernetes set them in the pod's securityContext.sysctls ('tcptune export pod-sysctls %s')", prof)
		} else {
			f.Note += "; in Kubernetes a pod's securityContext.sysctls sets them ('tcptune export pod-sysctls P')"
		}
	}
}
