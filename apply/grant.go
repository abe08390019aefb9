package apply

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/tcptune/tcptune/sysctl"
)

// grantHonoured reports whether a key outside the default write policy may
// be restored from the record or baseline at path: the record must list it
// as granted (the transaction wrote it under a trusted profile's allow:),
// and the file and its directory must pass the check the granting profile
// passed: owned by root (or by this user, for an unprivileged state
// directory) and not writable by group or others. Without that, whoever
// could edit the file could grant themselves kernel.core_pattern.
func grantHonoured(path string, granted []string, k sysctl.Key) bool {
	if !slices.Contains(granted, k.String()) {
		return false
	}
	return trustedFile(path) && trustedFile(filepath.Dir(path))
}

func trustedFile(path string) bool {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&os.ModeSymlink != 0 || fi.Mode().Perm()&0o022 != 0 {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && (st.Uid == 0 || int(st.Uid) == os.Geteuid())
}
