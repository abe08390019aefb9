package netns

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tcptune/tcptune/internal/safefile"
)

// Environment set by Exec for the process it starts.
const (
	envPath = "TCPTUNE_NETNS"
	envID   = "TCPTUNE_NETNS_ID"
)

// ErrPermission is returned when entering a namespace is refused (it needs
// CAP_SYS_ADMIN).
var ErrPermission = errors.New("entering a network namespace needs root (CAP_SYS_ADMIN)")

// open opens the namespace file of t and returns its descriptor and ID.
func open(t Target) (int, ID, error) {
	fd, err := unix.Open(t.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return -1, ID{}, fmt.Errorf("network namespace %s: no such namespace (see 'ip netns list', or a running PID)", t)
		}
		return -1, ID{}, fmt.Errorf("open network namespace %s: %w", t, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, ID{}, fmt.Errorf("network namespace %s: %w", t, err)
	}
	return fd, ID{Dev: uint64(st.Dev), Ino: st.Ino}, nil
}

// enter switches the calling thread, which must be locked, into fd's
// namespace.
func enter(t Target, fd int) error {
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		if errors.Is(err, unix.EPERM) {
			return fmt.Errorf("enter network namespace %s: %w", t, ErrPermission)
		}
		return fmt.Errorf("enter network namespace %s: %w", t, err)
	}
	return nil
}

// Do runs fn on an OS thread inside the namespace t and returns fn's error.
// Everything fn opens from that thread (/proc/thread-self/net, /proc/sys/net
// files, netlink sockets) belongs to t. fn must not start goroutines that
// expect to be inside: they run on other threads. The thread goes back to
// its namespace afterwards; if it cannot, it is discarded (the goroutine
// exits still locked), so no other goroutine ever runs in the wrong one.
func Do(t Target, fn func() error) error {
	fd, _, err := open(t)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("open current network namespace: %w", err)
			return // thread stays locked and is discarded
		}
		defer unix.Close(orig)
		if err := enter(t, fd); err != nil {
			errc <- err
			return
		}
		ferr := fn()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("leave network namespace %s: %w (after: %v)", t, err, ferr)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// Exec replaces the process with argv[0] (usually /proc/self/exe) running
// inside t, with env plus the marks Entered checks. It returns only on
// failure. The calling goroutine's thread stays locked: on failure it may be
// inside t.
func Exec(t Target, argv, env []string) error {
	fd, id, err := open(t)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	env = append(slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		return strings.HasPrefix(kv, envPath+"=") || strings.HasPrefix(kv, envID+"=")
	}), envPath+"="+t.Path, envID+"="+id.token())
	runtime.LockOSThread() // never unlocked: see above
	if err := enter(t, fd); err != nil {
		return err
	}
	err = unix.Exec(argv[0], argv, env)
	return fmt.Errorf("re-execute %s in network namespace %s: %w", argv[0], t, err)
}

// Entered reports the namespace path a parent's Exec put this process in
// ("" when none), after checking the process really runs there: a stale or
// forged mark would make every value it reports the wrong namespace's.
func Entered() (string, error) {
	path, tok := execEnv(envPath, envID)
	if path == "" {
		return "", nil
	}
	want, err := parseToken(tok)
	if err != nil {
		return "", fmt.Errorf("%s=%s: %w", envID, tok, err)
	}
	self, err := Self()
	if err != nil {
		return "", err
	}
	if self != want {
		return "", fmt.Errorf("%s=%s, but this process runs in %s, not %s (unset %s and %s; they are set by tcptune --netns for the process it starts)",
			envPath, path, self, want, envPath, envID)
	}
	return path, nil
}

// execEnv returns the values of the variables a and b in the environment
// this process was started with (execve's, as /proc/self/environ holds it),
// which is where Exec puts them; "" when absent. It scans that block instead
// of calling os.Getenv, whose first call builds a map of the whole
// environment: with a shell's 30-odd variables that was 4% of a diff's
// instructions, on every run, for two variables that are almost never set.
// Without /proc it asks os.Getenv.
func execEnv(a, b string) (string, string) {
	block, err := safefile.ReadFile(procRoot+"/self/environ", maxEnviron, safefile.FollowLinks)
	if err != nil {
		return os.Getenv(a), os.Getenv(b)
	}
	return envValue(block, a), envValue(block, b)
}

// maxEnviron bounds the environment block read: the kernel caps argv and
// envp together at a quarter of the stack limit (ARG_MAX), 2 MiB by default.
const maxEnviron = 8 << 20

// envValue finds name's value in a NUL-separated environment block; the
// first entry wins, as in os.Getenv.
func envValue(block []byte, name string) string {
	for len(block) > 0 {
		entry := block
		if i := bytes.IndexByte(block, 0); i >= 0 { // bytes: vectorised; slices.Index is a byte loop
			entry, block = block[:i], block[i+1:]
		} else {
			block = nil
		}
		if len(entry) > len(name) && entry[len(name)] == '=' && string(entry[:len(name)]) == name {
			return string(entry[len(name)+1:])
		}
	}
	return ""
}
