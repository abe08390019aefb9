package profiles

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// PermError refuses a profile file or directory that someone other than
// root could change, when tcptune runs as root: whoever can edit a profile
// chooses what root writes to the kernel (sshd's StrictModes reasoning).
type PermError struct {
	Path string
	Why  string // "writable by group or others (mode 0664)", "owned by uid 1000"
	Fix  string // the command that fixes it
}

func (e *PermError) Error() string {
	return fmt.Sprintf("profile path %s is %s; tcptune runs as root and refuses profiles others could change (fix: %s)", e.Path, e.Why, e.Fix)
}

// trustProblem returns why path (already opened, st its fstat) could be
// changed by someone other than root: the file itself, or any directory
// above it. nil when only root can change it. A root-owned directory with
// the sticky bit (/tmp) counts as safe: nobody else can rename or remove a
// root-owned file in it.
func trustProblem(path string, st fs.FileInfo) *PermError {
	if e := ownerProblem(path, st, st.IsDir()); e != nil {
		return e
	}
	abs, err := filepath.Abs(path)
	if err == nil {
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real
		}
	}
	if err != nil {
		return &PermError{Path: path, Why: "not resolvable to an absolute path: " + err.Error(), Fix: "pass an absolute path"}
	}
	for dir := filepath.Dir(abs); ; dir = filepath.Dir(dir) {
		dst, err := os.Stat(dir)
		if err != nil {
			return &PermError{Path: dir, Why: "not checkable: " + err.Error(), Fix: "check the directory"}
		}
		if e := ownerProblem(dir, dst, true); e != nil {
			return e
		}
		if dir == "/" || dir == filepath.Dir(dir) {
			return nil
		}
	}
}

func ownerProblem(path string, st fs.FileInfo, isDir bool) *PermError {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return &PermError{Path: path, Why: "of unknown ownership", Fix: "check it by hand"}
	}
	if sys.Uid != 0 {
		fix := "chown root " + path
		if isDir {
			// Handing a user's directory to root is rarely what anyone wants.
			fix = "move the profile into a root-owned directory such as /etc/tcptune/profiles.d, or chown root " + path
		}
		return &PermError{Path: path, Why: fmt.Sprintf("owned by uid %d, not root", sys.Uid), Fix: fix}
	}
	mode := st.Mode()
	if mode.Perm()&0o022 == 0 {
		return nil
	}
	if isDir && mode&fs.ModeSticky != 0 {
		return nil
	}
	if readOnlyMount(path) {
		// Nobody writes through a read-only mount, whatever the mode: a
		// Kubernetes ConfigMap volume mounted readOnly shows 0777.
		return nil
	}
	return &PermError{Path: path, Why: fmt.Sprintf("writable by group or others (mode %04o)", mode.Perm()), Fix: "chmod go-w " + path}
}

// readOnlyMount reports whether path is on a file system mounted read-only.
func readOnlyMount(path string) bool {
	var sfs unix.Statfs_t
	return unix.Statfs(path, &sfs) == nil && sfs.Flags&unix.ST_RDONLY != 0
}

// StrictPermsDefault is what a Loader enforces when StrictPerms is nil:
// the StrictModes check when the process runs as root.
func StrictPermsDefault() bool { return os.Geteuid() == 0 }
