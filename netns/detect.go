package netns

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Here describes the network namespace the process runs in.
type Here struct {
	Kind Kind `json:"kind"`
	// Reason is the fact that decided Kind, for messages.
	Reason string `json:"reason"`
	// Self is the namespace's identity (zero when /proc is not readable).
	Self ID `json:"self"`
	// InitShares says whether PID 1 runs in this namespace: the init whose
	// boot applies sysctl.d applies it to PID 1's namespace. Yes inside a
	// booted container (systemd-nspawn, a container's own init), No or
	// Unknown under `ip netns exec` or `unshare -n` (PID 1 is the host's; its
	// ns link is unreadable without ptrace access to it).
	InitShares Tri `json:"init_shares"`
}

// Tri is yes, no, or could not tell.
type Tri int

const (
	TriUnknown Tri = iota
	TriYes
	TriNo
)

func (t Tri) String() string {
	switch t {
	case TriYes:
		return "yes"
	case TriNo:
		return "no"
	}
	return "unknown"
}

// MarshalText makes Kind and Tri read as words in JSON.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }
func (t Tri) MarshalText() ([]byte, error)  { return []byte(t.String()), nil }

// Kernel facts about which sysctls a child network namespace sees. They are
// facts about the namespace itself, not about any key's tuning, so they live
// here; which keys are host-wide for a profile is the validate catalog's
// business.
const (
	// net.core.netdev_max_backlog is in net_core_table, registered for
	// init_net only (net/core/sysctl_net_core.c, sysctl_core_net_init): a
	// child namespace has no such file.
	factInitialOnly = "net/core/netdev_max_backlog"
	// net.core.rmem_max is writable in the initial namespace; kernels that
	// show it in a child (6.x, netns_core_table) show it read-only (0444).
	factReadOnlyInChild = "net/core/rmem_max"
)

// Detect tells which kind of network namespace the process is in, reading
// the live sysctl tree at sysctlRoot (sysctl.DefaultRoot). Kernel facts
// decide: netdev_max_backlog absent, or rmem_max read-only, is a child
// namespace; netdev_max_backlog present with rmem_max writable is the
// initial one. PID 1 is only a tiebreak when the facts are silent (no
// net/core at all): inside a container PID 1 is the container's own init, so
// "same namespace as PID 1" never proves "the host's".
func Detect(sysctlRoot string) Here { return detect(sysctlRoot, procRoot) }

// DetectKind is Detect(sysctlRoot).Kind, reading this process's namespace
// identity and PID 1's only when the kernel facts are silent. Every diff and
// apply asks for the kind; the identity is for status, persistence and
// messages. Its first look at /proc/thread-self (procfs building the new
// process's entries, the ns link's check) cost more than the rest of a
// diff's namespace work.
func DetectKind(sysctlRoot string) Kind { return detectKind(sysctlRoot, procRoot) }

func detectKind(sysctlRoot, proc string) Kind {
	if k, _ := facts(sysctlRoot); k != Unknown {
		return k
	}
	return detect(sysctlRoot, proc).Kind
}

func detect(sysctlRoot, proc string) Here {
	h := Here{}
	h.Self, _ = IDOf(filepath.Join(proc, "thread-self/ns/net"))
	if h.Self.IsZero() {
		h.Self, _ = IDOf(filepath.Join(proc, "self/ns/net"))
	}
	if !h.Self.IsZero() {
		if init, err := IDOf(filepath.Join(proc, "1/ns/net")); err == nil {
			h.InitShares = TriNo
			if init == h.Self {
				h.InitShares = TriYes
			}
		} else {
			h.InitShares = sameProcNet(proc)
		}
	}
	h.Kind, h.Reason = facts(sysctlRoot)
	if h.Kind == Unknown {
		switch h.InitShares {
		case TriYes:
			h.Kind, h.Reason = Initial, h.Reason+"; same network namespace as PID 1"
		case TriNo:
			h.Kind, h.Reason = Child, h.Reason+"; another network namespace than PID 1's"
		}
	}
	return h
}

// facts reads the kernel facts under a sysctl root.
func facts(root string) (Kind, string) {
	if st, err := os.Stat(filepath.Join(root, "net/core")); err != nil || !st.IsDir() {
		return Unknown, "no net/core under " + root
	}
	_, errB := os.Stat(filepath.Join(root, factInitialOnly))
	stR, errR := os.Stat(filepath.Join(root, factReadOnlyInChild))
	switch {
	case errors.Is(errB, fs.ErrNotExist):
		return Child, "net.core.netdev_max_backlog is absent (the kernel registers it for the initial network namespace only)"
	case errR == nil && stR.Mode().Perm()&0o222 == 0:
		return Child, "net.core.rmem_max is read-only (as the kernel shows it in a child network namespace)"
	case errB == nil:
		return Initial, "net.core.netdev_max_backlog is present and net.core.rmem_max writable (the initial network namespace)"
	}
	return Unknown, "cannot stat net.core.netdev_max_backlog: " + errB.Error()
}

// PersistDefault says whether a sysctl.d file written here would be applied
// at boot to this same namespace, which is when `tcptune apply` persists by
// default. The initial namespace: yes. A child namespace: only when PID 1
// (the boot that reads sysctl.d) runs in it, as in a booted container; under
// `ip netns exec` or `unshare -n` boot would apply the file to PID 1's
// namespace instead. why explains a "no".
func (h Here) PersistDefault() (ok bool, why string) {
	switch {
	case h.Kind == Initial:
		return true, ""
	case h.Kind == Child && h.InitShares == TriYes:
		return true, ""
	case h.Kind == Child && h.InitShares == TriNo:
		return false, "PID 1 runs in another network namespace, so boot would apply sysctl.d to that namespace, not to " + h.Self.String()
	case h.Kind == Child:
		return false, "cannot tell whether PID 1 (the boot that reads sysctl.d) runs in " + h.Self.String() + " (/proc/1/ns/net unreadable)"
	}
	return false, "cannot tell which network namespace this is (" + h.Reason + ")"
}

// sameProcNet tells whether PID 1 shares this thread's network namespace
// when its ns link cannot be read (no ptrace access to PID 1: a sandboxed
// systemd service, or this machine, where /proc/1/ns/net is unreadable even
// to root). Each namespace registers its own /proc/net entries
// (net/core/net-procfs.c, proc_create_net per struct net), and an entry's
// inode number is unique to it, while /proc/PID/net needs no ptrace access;
// so the same inode for net/dev means the same namespace.
func sameProcNet(proc string) Tri {
	var self, init os.FileInfo
	var err error
	if self, err = os.Stat(filepath.Join(proc, "thread-self/net/dev")); err != nil {
		if self, err = os.Stat(filepath.Join(proc, "self/net/dev")); err != nil {
			return TriUnknown
		}
	}
	if init, err = os.Stat(filepath.Join(proc, "1/net/dev")); err != nil {
		return TriUnknown
	}
	a, okA := self.Sys().(*syscall.Stat_t)
	b, okB := init.Sys().(*syscall.Stat_t)
	switch {
	case !okA || !okB:
		return TriUnknown
	case a.Dev == b.Dev && a.Ino == b.Ino:
		return TriYes
	}
	return TriNo
}
