// Package netnsguard decides whether the current process runs in a private
// network namespace, so code that writes real sysctls (kernel tests, the
// lab) can refuse to touch the host.
//
// PID 1's /proc/1/ns/net is not always readable (no CAP_SYS_PTRACE in some
// sandboxes), so the reliable comparison is against the namespace the
// caller started in: a parent records Self() before it creates the child
// namespace and hands it down; the child calls CheckPrivate with it.
package netnsguard

import (
	"fmt"
	"os"

	"github.com/vishvananda/netlink"
)

// Self returns the identity of the current network namespace, such as
// "net:[4026531833]".
func Self() (string, error) {
	s, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return "", fmt.Errorf("cannot read /proc/self/ns/net: %w", err)
	}
	return s, nil
}

// CheckPrivate returns an error unless the current network namespace differs
// from hostNS (a link text such as "net:[4026531833]", may be empty) and
// from PID 1's namespace when that is readable. At least one comparison must
// have been possible: "could not tell" is a refusal, not a pass.
func CheckPrivate(hostNS string) error {
	self, err := Self()
	if err != nil {
		return err
	}
	compared := false
	if hostNS != "" {
		compared = true
		if self == hostNS {
			return fmt.Errorf("network namespace %s is the parent's: not private", self)
		}
	}
	if init, err := os.Readlink("/proc/1/ns/net"); err == nil {
		compared = true
		if self == init {
			return fmt.Errorf("network namespace %s is PID 1's (the host's): not private", self)
		}
	}
	if !compared {
		return fmt.Errorf("cannot tell whether %s is private: no parent namespace given and /proc/1/ns/net unreadable", self)
	}
	return nil
}

// LoopbackUp sets lo up in the current network namespace; a fresh namespace
// starts with lo down.
func LoopbackUp() error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	return nil
}
