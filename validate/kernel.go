package validate

import (
	"errors"
	"fmt"

	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

// kernel checks one setting against the running kernel (--kernel): the key
// must exist and be writable here. In a child network namespace a host-wide
// key is a note, not a failure: the profile is fine, this place is not where
// it applies. t is nil for a key outside the catalog.
func (c *checker) kernel(s profiles.Setting, t *Tunable) {
	if c.k.FS == nil {
		return
	}
	if ScopeOf(s.Key) == ScopeGlobal && c.k.Netns == netns.Child {
		c.add(SevNote, s, s.Pos, "apply it from the host (the initial network namespace); apply skips it here",
			"host-wide key, not settable from this network namespace")
		return
	}
	ok, err := c.k.FS.Exists(s.Key)
	if err != nil {
		// "Could not tell" is not "misconfigured".
		c.add(SevWarning, s, s.Pos, "", "could not check the running kernel: %v", err)
		return
	}
	if !ok {
		switch {
		case s.IgnoreFailure:
			c.add(SevNote, s, s.Pos, "", "absent on this kernel; skipped, as the setting has ignore-failure")
			return
		case t != nil && t.Module != "":
			c.add(SevNote, s, s.Pos, fmt.Sprintf("load it (modprobe %s) and re-run to set it; apply skips it meanwhile", t.Module),
				"absent: the %s module is not loaded", t.Module)
			return
		}
		hint := "this kernel lacks it: check the kernel version and that the module providing it is loaded"
		if t != nil && t.Since != "" {
			hint = fmt.Sprintf("added in Linux %s; this kernel is older or built without it", t.Since)
		}
		c.add(SevError, s, s.Pos, hint, "not present on this kernel (%s)", c.k.FS.FullPath(s.Key))
		return
	}
	if err := c.k.FS.Writable(s.Key); err != nil {
		switch {
		case errors.Is(err, sysctl.ErrReadOnly):
			c.add(SevError, s, s.Pos,
				"/proc/sys is often mounted read-only in containers; apply from the host or give the container a writable /proc/sys",
				"present but read-only here")
		case errors.Is(err, sysctl.ErrPermission):
			c.add(SevError, s, s.Pos, "run as root (or with CAP_NET_ADMIN for network keys)", "present but not writable by this user")
		default:
			c.add(SevWarning, s, s.Pos, "", "could not tell whether it is writable: %v", err)
		}
		return
	}
	if s.Key == keyCongestion {
		c.congestionControl(s)
	}
}
