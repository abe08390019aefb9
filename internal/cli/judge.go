package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tcptune/tcptune/doctor"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
	"github.com/tcptune/tcptune/validate"
)

// This file is the one validation path of the commands: every command that
// loads profiles (validate, show, diff, apply, reconcile, systemd install,
// lab) resolves them with the same Loader and judges them with
// validate.Validate, so they give one verdict. apply.Apply validates again
// with the kernel, through the same function.

// profileRefs accepts P... or, with -f FILE, no argument: the -f files are
// then the profiles (kubectl's habit: 'tcptune apply -f web.yaml').
func profileRefs(g *Globals) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 && len(g.Files) == 0 {
			return withHint(fmt.Errorf("%s needs a profile: P... or -f FILE", cmd.CommandPath()),
				"run 'tcptune list' to see the profiles, or pass a file with -f FILE")
		}
		return nil
	}
}

// refs returns args, or the -f files when no profile was named.
func (g *Globals) refs(args []string) []string {
	if len(args) > 0 {
		return args
	}
	out := make([]string, len(g.Files))
	for i, f := range g.Files {
		if !profiles.IsPath(f) {
			// -f web: refer to it by the name it loads under, not as a
			// second path to the same file.
			if p, err := profiles.ReadFile(f, profiles.OriginFile); err == nil {
				f = p.Name
			}
		}
		out[i] = f
	}
	return out
}

// resolveValid resolves profiles and validates them without the kernel
// (plus, with facts, the machine hazards: port range, tuned); errors stop
// the command (exit 1), warnings go to stderr.
func (g *Globals) resolveValid(args []string, facts ...*validate.Kernel) (*profiles.Resolved, error) {
	r, err := g.resolve(args)
	if err != nil {
		return nil, err
	}
	ds := validate.Validate(r, nil)
	for _, f := range facts {
		ds = append(ds, validate.Hazards(r, f)...)
	}
	for _, d := range ds {
		// Notes are for 'validate'; here only what may stop or surprise.
		if d.Severity == validate.SevError || (d.Severity == validate.SevWarning && !g.JSON()) {
			fmt.Fprintln(g.Stderr, d.String())
		}
	}
	if validate.HasErrors(ds) {
		return nil, withHint(fmt.Errorf("%s: profile is invalid; nothing was read or written", strings.Join(args, " + ")),
			"run 'tcptune validate %s' for details", strings.Join(args, " "))
	}
	return r, nil
}

// kernelFacts is what validation may know of this machine: the sysctl tree,
// and, on the real /proc/sys, the listeners (for the port-range hazards);
// tuned's configuration on the real system or when --tuned-dir is given.
func (g *Globals) kernelFacts() *validate.Kernel {
	k := &validate.Kernel{FS: g.FS(), Netns: g.Netns()}
	if g.SysctlRoot == sysctl.DefaultRoot {
		k.Listeners, k.Owners = liveListeners, listenerOwners
	}
	if g.SysctlRoot == sysctl.DefaultRoot || g.TunedDir != validate.DefaultTunedEtc {
		if t, err := g.tuned(); err == nil {
			k.Tuned = t
		} else {
			fmt.Fprintf(g.Stderr, "tcptune: warning: could not read tuned's configuration: %v\n", err)
		}
	}
	return k
}

// tuned reads tuned's configuration from --tuned-dir and --tuned-lib-dir.
func (g *Globals) tuned() (*validate.Tuned, error) {
	return validate.ReadTuned(validate.TunedPaths{Etc: g.TunedDir, Lib: g.TunedLibDirs, Run: g.TunedRunDir})
}

// liveListeners lists this network namespace's TCP listeners (inet_diag,
// without owners: the port-range check needs only ports).
func liveListeners() ([]validate.Listener, error) {
	ls, err := doctor.LiveListeners()
	if err != nil {
		return nil, err
	}
	out := make([]validate.Listener, 0, len(ls))
	for _, l := range ls {
		out = append(out, validate.Listener{Addr: l.Endpoint(), Port: int(l.Port), Inode: l.Inode})
	}
	return out, nil
}

// listenerOwners names the owners of the listeners a warning names.
func listenerOwners(ls []validate.Listener) {
	dl := make([]doctor.Listener, len(ls))
	for i, l := range ls {
		dl[i].Inode = l.Inode
	}
	doctor.AttachOwners("/proc", dl)
	for i := range ls {
		ls[i].PID, ls[i].Process = dl[i].PID, dl[i].Process
	}
}
