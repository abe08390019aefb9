package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/tcptune/tcptune/apply"
	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/sysctl"
)

// --netns NAME|PATH|PID runs diff, apply, rollback and status inside another
// network namespace: package netns resolves the argument and re-executes
// tcptune inside it (netns.Exec); the new process checks it arrived
// (netns.Entered) and, like any process, asks the kernel what kind of
// namespace it is in, so host-wide keys are reported "host-wide" and the
// persistence default follows the namespace (apply does not persist where
// boot would apply the file to another namespace).
//
// doctor has its own --netns (package doctor reads on one thread inside the
// namespace); it resolves NAME|PATH|PID with the same rule.
// netnsCommands take --netns through the re-exec.
var netnsCommands = []string{"diff", "apply", "rollback", "status"}

// addNetnsFlags adds --netns to the commands of netnsCommands that exist.
func addNetnsFlags(root *cobra.Command) {
	for _, c := range root.Commands() {
		if !slices.Contains(netnsCommands, c.Name()) || c.Flags().Lookup("netns") != nil {
			continue
		}
		c.Flags().String("netns", "", "run inside another network namespace: an 'ip netns' NAME, a PID, or a PATH such as /proc/PID/ns/net")
	}
}

// enterNetns runs before each command. With --netns it re-executes tcptune
// inside the namespace and does not return on success; in the re-executed
// process it checks that the namespace is the one asked for.
func (g *Globals) enterNetns(cmd *cobra.Command) error {
	f := cmd.Flags().Lookup("netns")
	if f == nil || !slices.Contains(netnsCommands, cmd.Name()) {
		return nil
	}
	if !f.Changed {
		if _, err := netns.Entered(); err != nil {
			return withHint(err, "run tcptune --netns NAME instead of setting the variables by hand")
		}
		return nil
	}
	return g.reexecInNetns(cmd, f.Value.String())
}

// reexecInNetns re-executes tcptune inside the namespace named by arg.
func (g *Globals) reexecInNetns(cmd *cobra.Command, arg string) error {
	t, err := netns.Resolve(arg)
	if err != nil {
		return withHint(fmt.Errorf("--netns: %w", err), "give an 'ip netns' NAME, a PID, or a path such as /proc/PID/ns/net")
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
	id, err := t.ID()
	if err != nil {
		return withHint(fmt.Errorf("--netns: %w", err), "list namespaces with 'ip netns list'; entering one needs root (CAP_SYS_ADMIN)")
	}
	args, err := netnsArgs(cmd, os.Args[1:], netnsStateName(t, id))
	if err != nil {
		return err
	}
	err = netns.Exec(t, append([]string{"/proc/self/exe"}, args...), os.Environ())
	return withHint(fmt.Errorf("--netns: %w", err), "entering a network namespace needs root (CAP_SYS_ADMIN)")
}

// netnsArgs is args without --netns, plus the defaults a namespace needs:
//   - --state-dir DEFAULT/netns/NAME unless given: the namespace's
//     transactions must not mix with the host's (status would compare them
//     with the wrong live values, rollback would restore the wrong keys);
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
		if pd != nil && !pd.Changed && np == nil { // status, rollback
			out = append(out, "--persist-dir", filepath.Join(state, "sysctl.d"))
		}
	}
	return out, nil
}

// netnsStateName names a namespace's state directory: the ip netns name, or
// the namespace's inode for a path such as /proc/PID/ns/net.
func netnsStateName(t netns.Target, id netns.ID) string {
	if t.Name != "" {
		return t.Name
	}
	return fmt.Sprintf("ino-%d", id.Ino)
}

// persistDefault turns persistence off where boot would apply the persisted
// file to another network namespace than this one (netns.Here
// .PersistDefault), unless the user chose: --no-persist, or --persist-dir
// (an explicit opt-in). Only the live tree has a boot to think of.
func (g *Globals) persistDefault(cmd *cobra.Command, o *apply.Options) {
	if o.NoPersist || g.SysctlRoot != sysctl.DefaultRoot || g.Netns() == netns.Initial {
		return
	}
	if f := cmd.Flags().Lookup("persist-dir"); f != nil && f.Changed {
		return
	}
	if ok, why := g.here().PersistDefault(); !ok {
		o.NoPersist, o.NoPersistReason = true, why+"; give --persist-dir to persist anyway"
	}
}
