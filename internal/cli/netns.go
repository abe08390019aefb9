package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/spf13/cobra"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/tcptune/tcptune/doctor"
	"github.com/tcptune/tcptune/internal/netnsguard"
	"github.com/tcptune/tcptune/sysctl"
)

// --netns NAME|PATH runs diff, apply, rollback and status inside another
// network namespace.
//
// A Go process cannot move itself into a namespace: setns(2) changes one
// thread, and the runtime runs goroutines on many. So the tcptune that was
// asked enters the namespace on a locked thread and execve(2)s itself from
// there without --netns: execve keeps only the calling thread, so the whole
// new process, and every /proc/sys/net file it opens (they follow the
// opener's namespace), belongs to the target. TCPTUNE_NETNS tells the new
// process where it is, TCPTUNE_NETNS_ORIGIN where its parent started; a
// namespace other than that one counts as a child namespace, so host-wide
// keys are reported "host-wide" rather than written.
//
// doctor has its own --netns (package doctor enters the namespace on one
// thread for its reads); it resolves NAME|PATH with the same rule.
const (
	envNetns       = "TCPTUNE_NETNS"
	envNetnsOrigin = "TCPTUNE_NETNS_ORIGIN"
)

// netnsCommands take --netns through the re-exec.
var netnsCommands = []string{"diff", "apply", "rollback", "status"}

// addNetnsFlags adds --netns to the commands of netnsCommands that exist.
func addNetnsFlags(root *cobra.Command) {
	for _, c := range root.Commands() {
		if !slices.Contains(netnsCommands, c.Name()) || c.Flags().Lookup("netns") != nil {
			continue
		}
		c.Flags().String("netns", "", "run inside another network namespace: an 'ip netns' NAME or a PATH such as /proc/PID/ns/net")
	}
}

// enterNetns runs before each command. With --netns it re-executes tcptune
// inside the namespace and does not return on success; in the re-executed
// process it checks that the namespace is the one asked for and marks it a
// child namespace.
func (g *Globals) enterNetns(cmd *cobra.Command) error {
	f := cmd.Flags().Lookup("netns")
	if f == nil || !slices.Contains(netnsCommands, cmd.Name()) {
		return nil
	}
	if path := os.Getenv(envNetns); path != "" && !f.Changed {
		return g.inNetns(path, os.Getenv(envNetnsOrigin))
	}
	if !f.Changed {
		return nil
	}
	if f.Value.String() == "" {
		return withHint(errors.New("--netns: empty network namespace name"), "see 'ip netns list'")
	}
	return g.reexecInNetns(cmd, f.Value.String())
}

// inNetns verifies the re-executed process: it must be in the namespace at
// path, or every value it reports would be the wrong namespace's.
func (g *Globals) inNetns(path, origin string) error {
	same, err := sameNetns(path, "/proc/self/ns/net")
	if err != nil {
		return fmt.Errorf("%s=%s: %w", envNetns, path, err)
	}
	if !same {
		return withHint(fmt.Errorf("%s=%s, but this process runs in another network namespace", envNetns, path),
			"unset %s; it is set by 'tcptune --netns' for the process it starts", envNetns)
	}
	self, err := netnsguard.Self()
	if err != nil {
		return err
	}
	if g.NetnsKind == "auto" && origin != "" && self != origin {
		g.NetnsKind = "child"
	}
	return nil
}

// reexecInNetns enters the namespace named by arg on this thread and
// execve(2)s tcptune there.
func (g *Globals) reexecInNetns(cmd *cobra.Command, arg string) error {
	path, err := doctor.NetnsPath(arg)
	if err != nil {
		return withHint(fmt.Errorf("--netns: %w", err), "give an 'ip netns' NAME or a path such as /proc/PID/ns/net")
	}
	// In-process callers (tests, anything that is not tcptune's own main)
	// would be replaced by execve, and their output streams lost.
	if testing.Testing() || g.Stdout != os.Stdout || g.Stderr != os.Stderr {
		return errors.New("--netns re-executes tcptune and works only from the tcptune binary")
	}
	if g.SysctlRoot != sysctl.DefaultRoot {
		return withHint(fmt.Errorf("--netns works on the live %s, not --sysctl-root %s", sysctl.DefaultRoot, g.SysctlRoot),
			"drop one of --netns and --sysctl-root")
	}
	target, err := netns.GetFromPath(path)
	if err != nil {
		return withHint(fmt.Errorf("--netns: open network namespace %s: %w", path, err),
			"list namespaces with 'ip netns list'; entering one needs root (CAP_SYS_ADMIN)")
	}
	defer target.Close()
	origin, err := netnsguard.Self()
	if err != nil {
		return err
	}
	args, err := netnsArgs(cmd, os.Args[1:], netnsStateName(path, target))
	if err != nil {
		return err
	}
	env := append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, envNetns+"=") || strings.HasPrefix(kv, envNetnsOrigin+"=")
	}), envNetns+"="+path, envNetnsOrigin+"="+origin)

	runtime.LockOSThread() // never unlocked: on failure the thread may be in the target
	self, err := netns.Get()
	if err != nil {
		return fmt.Errorf("--netns: read current network namespace: %w", err)
	}
	defer self.Close()
	if err := netns.Set(target); err != nil {
		return withHint(fmt.Errorf("--netns: enter %s: %w", path, err), "entering a network namespace needs root (CAP_SYS_ADMIN)")
	}
	err = syscall.Exec("/proc/self/exe", append([]string{os.Args[0]}, args...), env)
	_ = netns.Set(self) // only reached when execve failed
	return fmt.Errorf("--netns: re-execute tcptune in %s: %w", path, err)
}

// netnsArgs is args without --netns, plus the defaults a namespace needs:
//   - --state-dir DEFAULT/netns/NAME unless given: the namespace's
//     transactions must not mix with the host's (status would compare them
//     with the wrong live values, rollback would restore the wrong keys);
//   - for apply, --no-persist unless --persist-dir or --no-persist was given:
//     boot applies /etc/sysctl.d to the host namespace, never to this one;
//   - for status and rollback, --persist-dir STATE/sysctl.d unless given, so
//     the host's persisted file is not compared with this namespace.
func netnsArgs(cmd *cobra.Command, args []string, name string) ([]string, error) {
	out := make([]string, 0, len(args)+4)
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		if a == "--netns" {
			i++ // its value
			continue
		}
		if strings.HasPrefix(a, "--netns=") {
			continue
		}
		out = append(out, a)
	}
	if sd := cmd.Flags().Lookup("state-dir"); sd != nil {
		state := sd.Value.String()
		if !sd.Changed {
			state = filepath.Join(sd.DefValue, "netns", name)
			out = append(out, "--state-dir", state)
		}
		pd, np := cmd.Flags().Lookup("persist-dir"), cmd.Flags().Lookup("no-persist")
		switch {
		case pd == nil || pd.Changed:
		case np != nil:
			if !np.Changed {
				out = append(out, "--no-persist")
			}
		default:
			out = append(out, "--persist-dir", filepath.Join(state, "sysctl.d"))
		}
	}
	return out, nil
}

// netnsStateName names a namespace's state directory: the ip netns name, or
// the namespace's inode for a path such as /proc/PID/ns/net.
func netnsStateName(path string, h netns.NsHandle) string {
	if filepath.Dir(path) == doctor.NetnsRunDir {
		return filepath.Base(path)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(h), &st); err == nil {
		return fmt.Sprintf("ino-%d", st.Ino)
	}
	return "unknown"
}

// sameNetns reports whether two namespace files name one namespace.
func sameNetns(a, b string) (bool, error) {
	var sa, sb unix.Stat_t
	if err := unix.Stat(a, &sa); err != nil {
		return false, fmt.Errorf("stat %s: %w", a, err)
	}
	if err := unix.Stat(b, &sb); err != nil {
		return false, fmt.Errorf("stat %s: %w", b, err)
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino, nil
}
