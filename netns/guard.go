package netns

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/tcptune/tcptune/sysctl"
)

// envParent carries the parent's namespace to a child started by Isolate.
const envParent = "TCPTUNE_NETNS_PARENT"

// Isolate makes cmd start in a brand-new network namespace (CLONE_NEWNET:
// only a loopback device, kernel defaults, gone when the last process in it
// exits) that cannot outlive the caller (Pdeathsig), and passes down the
// caller's namespace so the child's CheckPrivate can compare. It returns
// that parent identity.
func Isolate(cmd *exec.Cmd) (ID, error) {
	self, err := Self()
	if err != nil {
		return ID{}, err
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, envParent+"="+self.token())
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWNET
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	return self, nil
}

// Parent returns the namespace that Isolate recorded for this process, zero
// when it was not started by Isolate.
func Parent() ID {
	id, _ := parseToken(os.Getenv(envParent))
	return id
}

// CheckPrivate is the guard of everything that writes real sysctls (kernel
// tests, the lab): it returns an error unless the calling thread's network
// namespace differs from parent (the namespace the caller started from; zero
// means Parent()) and from PID 1's when that is readable, and the kernel
// facts (Detect) do not call it the initial namespace. At least one check
// must have been possible: "could not tell" is a refusal.
func CheckPrivate(parent ID) error {
	self, err := Self()
	if err != nil {
		return fmt.Errorf("cannot tell whether this network namespace is private: %w", err)
	}
	if parent.IsZero() {
		parent = Parent()
	}
	compared := false
	if !parent.IsZero() {
		compared = true
		if self == parent {
			return fmt.Errorf("network namespace %s is the parent's: not private", self)
		}
	}
	if init, err := IDOf(procRoot + "/1/ns/net"); err == nil {
		compared = true
		if self == init {
			return fmt.Errorf("network namespace %s is PID 1's: not private", self)
		}
	}
	switch h := Detect(sysctl.DefaultRoot); h.Kind {
	case Initial:
		return fmt.Errorf("network namespace %s is the initial one (%s): not private", self, h.Reason)
	case Child:
		compared = true
	}
	if !compared {
		return fmt.Errorf("cannot tell whether %s is private: no parent namespace given and /proc/1/ns/net unreadable", self)
	}
	return nil
}

// LoopbackUp sets lo up in the calling thread's network namespace; a fresh
// namespace starts with lo down. Two ioctls on a datagram socket
// (SIOCGIFFLAGS, SIOCSIFFLAGS with IFF_UP), as ip link set lo up does
// through netlink: the netlink library's package init would otherwise run in
// every tcptune command (make bench).
func LoopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("set lo up: socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("find lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	return nil
}
