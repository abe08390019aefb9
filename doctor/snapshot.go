package doctor

import (
	"errors"
	"io/fs"
	"sort"
	"time"

	"github.com/tcptune/tcptune/sysctl"
)

// Source says where a Snapshot is read from.
type Source struct {
	// ProcRoot is the proc mount (DefaultProcRoot, or a fixture tree).
	ProcRoot string
	// Sysctl reads the live sysctls (a fake tree in tests).
	Sysctl *sysctl.FS
	// Listeners reads the LISTEN sockets; nil skips them (fixture trees:
	// netlink would answer for the live kernel, not for the tree).
	Listeners func() ([]Listener, error)
	// Connecting reads the SYN-SENT sockets; nil skips them.
	Connecting func() ([]Connecting, error)
	// GateConnecting lets Collect skip Connecting when the namespace's
	// own socket counters prove there is no SYN-SENT socket (synsent_gate.go).
	// Only for the live proc tree, read on the thread whose namespace the
	// netlink dumps see.
	GateConnecting bool
}

// LiveListeners reads listeners through netlink inet_diag in the calling
// thread's network namespace.
func LiveListeners() ([]Listener, error) { return readListeners() }

// Snapshot is one reading of every source.
type Snapshot struct {
	Time      time.Time
	TCPExt    Counters  // nil when unavailable
	TCP       Counters  // nil when unavailable
	Sockstat  *Sockstat // nil when unavailable
	Softnet   *Softnet  // nil when unavailable
	Listeners []Listener
	// ListenersRead is false when listeners were not read (skipped or
	// failed): an empty list then means "could not tell", not "none".
	ListenersRead bool
	// Connecting are the SYN-SENT sockets; ConnectingRead as ListenersRead.
	Connecting     []Connecting
	ConnectingRead bool
	// SynSent says how Connecting was learned: walked, or proven empty by
	// the counters.
	SynSent     SynSentScan
	Sysctls     Sysctls
	Unavailable []Unavailable
}

// Unavailable records a source that could not be read.
type Unavailable struct {
	Source string `json:"source"`
	Reason string `json:"reason"`
}

// Collect reads every source once, on the calling thread. A missing file or
// a refused netlink dump is recorded in Unavailable; a file that exists but
// does not parse is an error (a diagnosis on garbage would mislead).
func Collect(src Source) (*Snapshot, error) {
	d, err := locateProcDir(src.ProcRoot)
	if err != nil {
		return nil, err
	}
	s := &Snapshot{Time: time.Now()}
	soft := func(name string, err error) error {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			s.Unavailable = append(s.Unavailable, Unavailable{Source: name, Reason: err.Error()})
			return nil
		}
		return err
	}
	if c, err := readTCPExt(d); err == nil {
		s.TCPExt = c
	} else if err := soft("netstat", err); err != nil {
		return nil, err
	}
	if c, err := readTCP(d); err == nil {
		s.TCP = c
	} else if err := soft("snmp", err); err != nil {
		return nil, err
	}
	if st, err := readSockstat(d); err == nil {
		s.Sockstat = &st
	} else if err := soft("sockstat", err); err != nil {
		return nil, err
	}
	if sn, err := readSoftnet(d); err == nil {
		s.Softnet = &sn
	} else if err := soft("softnet_stat", err); err != nil {
		return nil, err
	}
	if src.Sysctl != nil {
		var errs map[sysctl.Key]error
		s.Sysctls, errs = readSysctls(src.Sysctl)
		for k, e := range errs {
			s.Unavailable = append(s.Unavailable, Unavailable{Source: k.String(), Reason: e.Error()})
		}
	}
	// The gate's first reading comes before the LISTEN dump, its second
	// after: counters that moved in between make it walk.
	var gate0 gateCounts
	gateErr := errGateOff
	if src.Connecting != nil && src.GateConnecting {
		gate0, gateErr = readGateCounts(d)
	}
	if src.Listeners == nil {
		s.Unavailable = append(s.Unavailable, Unavailable{Source: "listeners", Reason: listenersNotRead})
	} else if ls, err := src.Listeners(); err != nil {
		s.Unavailable = append(s.Unavailable, Unavailable{Source: "listeners", Reason: err.Error()})
	} else {
		s.Listeners, s.ListenersRead = ls, true
	}
	if src.Connecting != nil {
		s.collectConnecting(d, src.Connecting, gate0, gateErr)
	}
	sort.Slice(s.Unavailable, func(i, j int) bool { return s.Unavailable[i].Source < s.Unavailable[j].Source })
	return s, nil
}

// errGateOff: the gate was not asked for.
var errGateOff = errors.New("gate off")

// collectConnecting reads the SYN-SENT sockets, unless the gate (its first
// reading gate0, taken before the LISTEN dump) proves there are none.
func (s *Snapshot) collectConnecting(d procDir, read func() ([]Connecting, error), gate0 gateCounts, gateErr error) {
	if gateErr == nil {
		g := SynSentGate{Walk: "listeners not read"}
		if s.ListenersRead {
			var gate1 gateCounts
			if gate1, gateErr = readGateCounts(d); gateErr == nil {
				g = judgeGate(gate0, gate1, len(s.Listeners))
			}
		}
		if gateErr != nil {
			g = SynSentGate{Walk: "counters not read: " + gateErr.Error()}
		}
		s.SynSent.Gate = &g
		if g.Walk == "" {
			s.Connecting, s.ConnectingRead = nil, true
			return
		}
	} else if gateErr != errGateOff {
		s.SynSent.Gate = &SynSentGate{Walk: "counters not read: " + gateErr.Error()}
	}
	s.SynSent.Walked = true
	if cs, err := read(); err != nil {
		s.Unavailable = append(s.Unavailable, Unavailable{Source: "syn-sent sockets", Reason: err.Error()})
	} else {
		s.Connecting, s.ConnectingRead = cs, true
	}
}

// attachOwners fills PID and Process of s's listeners from procRoot.
func (s *Snapshot) attachOwners(procRoot string) { AttachOwners(procRoot, s.Listeners) }

// AttachOwners fills PID and Process of listeners in place from the fd tables
// under procRoot (usually /proc), best effort.
func AttachOwners(procRoot string, listeners []Listener) {
	want := map[uint32]bool{}
	for _, l := range listeners {
		if l.Inode != 0 {
			want[l.Inode] = true
		}
	}
	owners := findOwners(procRoot, want)
	for i := range listeners {
		if o, ok := owners[listeners[i].Inode]; ok {
			listeners[i].PID, listeners[i].Process = o.pid, o.comm
		}
	}
}
