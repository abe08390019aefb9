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

// DetectNetns tells which network namespace the process is in, kernel facts
// first: net.core.netdev_max_backlog is registered for the initial
// namespace only (net/core/sysctl_net_core.c, net_core_table), so under a
// real /proc/sys its presence means the initial namespace and its absence a
// child one. Comparing /proc/self/ns/net with /proc/1/ns/net comes second
// (only when /proc/sys/net/core cannot be read): inside a booted container
// (systemd-nspawn, a pod) PID 1 is the container's own init and shares its
// namespace, so the comparison would call a child namespace initial.
func DetectNetns(procRoot string) NetnsKind {
	if procRoot == "" {
		procRoot = "/proc"
	}
	if _, err := os.Stat(procRoot + "/sys/net/core"); err == nil {
		if _, err := os.Stat(procRoot + "/sys/net/core/netdev_max_backlog"); err == nil {
			return NetnsInitial
		}
		return NetnsChild
	}
	self, err1 := os.Readlink(procRoot + "/self/ns/net")
	init, err2 := os.Readlink(procRoot + "/1/ns/net")
	if err1 == nil && err2 == nil {
		if self == init {
			return NetnsInitial
		}
		return NetnsChild
	}
	return NetnsUnknown
}
