package sysctl

import "os"

// NetnsKind says whether the process runs in the host's (initial) network
// namespace, in a child one (a container, a lab), or whether that could not
// be told.
type NetnsKind int

const (
	NetnsUnknown NetnsKind = iota
	NetnsInitial
	NetnsChild
)

func (n NetnsKind) String() string {
	switch n {
	case NetnsInitial:
		return "initial"
	case NetnsChild:
		return "child"
	}
	return "unknown"
}

// DetectNetns tells which network namespace the process is in. It compares
// /proc/self/ns/net with /proc/1/ns/net when PID 1's link is readable. When
// it is not (no CAP_SYS_PTRACE, as in some sandboxes), it falls back on a
// kernel fact: net.core.netdev_max_backlog is registered for the initial
// namespace only (net/core/sysctl_net_core.c, net_core_table), so its
// absence under a real /proc/sys means a child namespace.
func DetectNetns(procRoot string) NetnsKind {
	if procRoot == "" {
		procRoot = "/proc"
	}
	self, err1 := os.Readlink(procRoot + "/self/ns/net")
	init, err2 := os.Readlink(procRoot + "/1/ns/net")
	if err1 == nil && err2 == nil {
		if self == init {
			return NetnsInitial
		}
		return NetnsChild
	}
	if _, err := os.Stat(procRoot + "/sys/net/core"); err != nil {
		return NetnsUnknown
	}
	if _, err := os.Stat(procRoot + "/sys/net/core/netdev_max_backlog"); err == nil {
		return NetnsInitial
	}
	return NetnsChild
}
