// Package netns is tcptune's one owner of network namespaces: which kind of
// namespace the process is in, how a user names one, how code runs inside
// one, and the guard that keeps tests and labs out of the host's.
//
// The API is small and the mechanism hidden (tailscale's net/netns is the
// model): callers ask Detect, Resolve, Do, Exec, Isolate and CheckPrivate and
// never see setns(2), nsfs inodes or clone flags.
//
// Entering a namespace has exactly one mechanism here: setns(2) on an OS
// thread locked to its goroutine. Do runs a function on such a thread; Exec
// then execve(2)s the whole process from it (execve keeps only the calling
// thread, so the new program starts entirely inside). Creating a namespace
// for a child process (Isolate) uses CLONE_NEWNET at fork.
package netns

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// RunDir is where `ip netns add NAME` bind-mounts namespaces.
const RunDir = "/run/netns"

// procRoot is the proc mount the live functions read.
const procRoot = "/proc"

// Kind says whether a network namespace is the host's (initial) one, a
// child one (a container, a pod, `ip netns`, a lab), or whether that could
// not be told.
type Kind int

const (
	Unknown Kind = iota
	Initial
	Child
)

func (k Kind) String() string {
	switch k {
	case Initial:
		return "initial"
	case Child:
		return "child"
	}
	return "unknown"
}

// ID identifies a network namespace: the device and inode of its nsfs file
// (what /proc/PID/ns/net links to, "net:[INODE]"). Two paths name the same
// namespace exactly when their IDs are equal. The zero ID means "not known".
type ID struct {
	Dev uint64 `json:"dev"`
	Ino uint64 `json:"ino"`
}

// IsZero reports whether id is unknown.
func (id ID) IsZero() bool { return id == ID{} }

// String is the kernel's own spelling, "net:[4026531833]".
func (id ID) String() string {
	if id.IsZero() {
		return "net:[unknown]"
	}
	return fmt.Sprintf("net:[%d]", id.Ino)
}

// token is the form passed to child processes in the environment.
func (id ID) token() string { return fmt.Sprintf("%d:%d", id.Dev, id.Ino) }

func parseToken(s string) (ID, error) {
	d, i, ok := strings.Cut(s, ":")
	dev, err1 := strconv.ParseUint(d, 10, 64)
	ino, err2 := strconv.ParseUint(i, 10, 64)
	if !ok || err1 != nil || err2 != nil || ino == 0 {
		return ID{}, fmt.Errorf("invalid network namespace token %q", s)
	}
	return ID{Dev: dev, Ino: ino}, nil
}

// IDOf returns the identity of the namespace file at path (/proc/PID/ns/net,
// /run/netns/NAME). Reading another process's link needs ptrace access to
// it: an error then means "could not tell", not "different".
func IDOf(path string) (ID, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return ID{}, fmt.Errorf("network namespace %s: %w", path, err)
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs(path, &sfs); err != nil {
		return ID{}, fmt.Errorf("network namespace %s: %w", path, err)
	}
	if sfs.Type != unix.NSFS_MAGIC || st.Ino == 0 {
		// An `ip netns` name whose bind mount is gone leaves an empty file
		// on /run: it names no namespace.
		return ID{}, fmt.Errorf("network namespace %s: not a namespace file (no nsfs mount there)", path)
	}
	return ID{Dev: uint64(st.Dev), Ino: st.Ino}, nil
}

// Self returns the identity of the calling thread's network namespace.
func Self() (ID, error) {
	id, err := IDOf(procRoot + "/thread-self/ns/net")
	if err != nil {
		return IDOf(procRoot + "/self/ns/net")
	}
	return id, nil
}

// Target is a network namespace named by the user.
type Target struct {
	// Arg is what the user gave.
	Arg string `json:"arg"`
	// Path is the namespace file: /run/netns/NAME or /proc/PID/ns/net.
	Path string `json:"path"`
	// Name is the `ip netns` name, "" for other paths.
	Name string `json:"name,omitempty"`
}

// ErrBadName is returned by Resolve for an argument that names no
// namespace.
var ErrBadName = errors.New("invalid network namespace")

// Resolve turns NAME | /run/netns/NAME | /proc/PID/ns/net | PID into a
// Target. A bare NAME is an `ip netns` name, a bare number a PID, anything
// with a slash a path. The namespace need not exist yet; Do and Exec say so.
func Resolve(arg string) (Target, error) {
	t := Target{Arg: arg}
	switch {
	case arg == "":
		return t, fmt.Errorf("%w: empty name", ErrBadName)
	case strings.Contains(arg, "/"):
		t.Path = filepath.Clean(arg)
		if filepath.Dir(t.Path) == RunDir {
			t.Name = filepath.Base(t.Path)
		}
	case isPID(arg):
		t.Path = fmt.Sprintf("%s/%s/ns/net", procRoot, arg)
	case arg == "." || arg == ".." || strings.ContainsAny(arg, "\x00\n"):
		return t, fmt.Errorf("%w: name %q", ErrBadName, arg)
	default:
		t.Path, t.Name = RunDir+"/"+arg, arg
	}
	return t, nil
}

func isPID(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 0 && strconv.Itoa(n) == s
}

// String names the target for messages: "NAME (/run/netns/NAME)", or the
// path.
func (t Target) String() string {
	if t.Name != "" {
		return t.Name + " (" + t.Path + ")"
	}
	return t.Path
}

// ID returns the identity of the target namespace.
func (t Target) ID() (ID, error) { return IDOf(t.Path) }
