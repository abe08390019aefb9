package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tcptune/tcptune/apply"
	"github.com/tcptune/tcptune/doctor"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

// txFlags are the paths and knobs shared by apply, rollback and status.
type txFlags struct {
	StateDir   string
	PersistDir string
	SearchDirs []string
	SysctlConf string
	LockWait   time.Duration
}

// register adds the flags to cmd. Every command that takes one takes all, so
// one set of paths works for apply, rollback, status and reconcile alike.
func (f *txFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.StateDir, "state-dir", apply.DefaultStateDir, "directory of the lock and the transaction records")
	fl.StringVar(&f.PersistDir, "persist-dir", apply.DefaultPersistDir, "directory of the persisted file "+apply.DefaultPersistName)
	fl.DurationVar(&f.LockWait, "lock-wait", 10*time.Second, "how long to wait for another apply or rollback to finish")
	fl.StringSliceVar(&f.SearchDirs, "sysctl-d", nil, "sysctl.d directories in systemd's order, for the precedence report (default: --persist-dir, /run/sysctl.d, /usr/local/lib/sysctl.d, /usr/lib/sysctl.d)")
	fl.StringVar(&f.SysctlConf, "sysctl-conf", apply.DefaultSysctlConf, "the file procps 'sysctl --system' applies last")
}

func (f *txFlags) options(g *Globals) apply.Options {
	return apply.Options{
		FS: g.FS(), Netns: g.Netns(),
		StateDir: f.StateDir, PersistDir: f.PersistDir, SearchDirs: f.SearchDirs, SysctlConf: f.SysctlConf,
		LockWait: f.LockWait, Version: VersionString(),
	}
}

func newApplyCmd(g *Globals) *cobra.Command {
	var tf txFlags
	var dryRun, noPersist, strict, detailed bool
	cmd := &cobra.Command{
		Use:   "apply P... | apply PLAN.json",
		Short: "Apply profiles all-or-nothing, with read-back, rollback and persistence",
		Long: `Apply one or more profiles as one transaction.

Nothing is written unless every key validates and is present and writable here.
The original values are recorded durably in --state-dir before the first write;
each write is read back, and a refused, clamped or rewritten value (or SIGINT /
SIGTERM) restores every key already written, in reverse order. Host-wide keys
seen from a container's network namespace are skipped ("host-wide").

Unless --no-persist, the values are persisted to --persist-dir/90-tcptune.conf
(replaced atomically), and a precedence report says which sysctl.d file wins
each key at boot under systemd-sysctl and under procps 'sysctl --system'.
Persistence follows the network namespace: in a child namespace whose PID 1
runs elsewhere ('ip netns exec', 'unshare -n', --netns) boot would apply the
file to another namespace, so nothing is persisted unless --persist-dir is
given; inside a booted container (PID 1 in the same namespace) it is.
Host-wide keys are never persisted from a child namespace.

'tcptune apply PLAN.json' applies a plan saved by 'tcptune diff P --out
PLAN.json' exactly: under the lock it re-reads every key and refuses the plan
(exit 1, nothing written, the keys named) when a live value is no longer the
one the plan observed, or when the plan's profiles (found with the same
--file/--profile-dir flags) now resolve to other settings.

After raising net.core.somaxconn, the listeners whose accept queue stays
capped at the old value are listed: restart or reconfigure them.

Exit status: 0 ok, 1 error (rolled back, nothing left changed);
with --detailed-exitcode, 2 when something changed.`,
		Example: `  tcptune apply high-concurrency --dry-run
  tcptune apply high-concurrency fail-fast -o json --detailed-exitcode
  tcptune apply syn-flood --no-persist
  tcptune diff web --out plan.json && tcptune apply plan.json`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: profileArgs(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			saved, err := g.savedPlan(args)
			if err != nil {
				return err
			}
			var r *profiles.Resolved
			if saved == nil {
				if r, err = g.resolve(args); err != nil {
					return err
				}
			}
			o := tf.options(g)
			o.DryRun, o.NoPersist, o.StrictPersist = dryRun, noPersist, strict
			o.Auditor = applyAuditor(tf.StateDir)
			g.persistDefault(cmd, &o)
			if g.SysctlRoot == sysctl.DefaultRoot {
				o.Listeners = doctorListeners{}
			}
			if faults.afterWrite != nil { // test builds only (faults.go)
				o.AfterWrite = faults.afterWrite(g.Stderr)
			}
			ctx, stop := signal.NotifyContext(cmdContext(cmd), os.Interrupt, syscall.SIGTERM)
			var res *apply.Result
			if saved != nil {
				res, err = apply.ApplyPlan(ctx, saved, o)
			} else {
				res, err = apply.Apply(ctx, r, o)
			}
			stop()
			if res != nil {
				if g.JSON() {
					if jerr := writeJSON(g.Stdout, res); jerr != nil && err == nil {
						err = jerr
					}
				} else {
					printApply(g.Stdout, g.Stderr, res)
				}
			}
			if err != nil {
				if saved != nil {
					return err // the plan's errors carry their hint
				}
				return applyHint(err, args)
			}
			if detailed && res.Changed && !res.DryRun {
				return withExit(ExitChanges)
			}
			return nil
		},
	}
	tf.register(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&dryRun, "dry-run", false, "print the plan and the file that would be persisted; write nothing")
	fl.BoolVar(&noPersist, "no-persist", false, "do not write the sysctl.d file (the change is lost at reboot)")
	fl.BoolVar(&strict, "strict-persist", false, "fail (before writing) when another sysctl.d file overrides a persisted value at boot")
	fl.BoolVar(&detailed, "detailed-exitcode", false, "exit 2 when something changed (terraform's convention)")
	return cmd
}

func cmdContext(cmd *cobra.Command) context.Context {
	if c := cmd.Context(); c != nil {
		return c
	}
	return context.Background()
}

// savedPlan loads a plan file (a single argument ending in .json) and binds
// it to its profiles as they resolve now; nil when args are profiles.
func (g *Globals) savedPlan(args []string) (*apply.Plan, error) {
	if len(args) != 1 || !strings.HasSuffix(args[0], ".json") {
		return nil, nil
	}
	p, err := apply.ReadPlan(args[0])
	if err != nil {
		return nil, withHint(err, "make a plan with 'tcptune diff P --out %s'", args[0])
	}
	r, err := g.Loader().Resolve(p.Profiles...)
	if err != nil {
		return nil, withHint(fmt.Errorf("%w: %w; nothing was written", apply.ErrPlanProfile, err),
			"the plan's profiles (%s) must be found as when it was made: pass the same -f/--profile-dir flags", strings.Join(p.Profiles, " "))
	}
	if err := p.Bind(r); err != nil {
		return nil, withHint(err, "review and save a new plan: tcptune diff %s --out %s", strings.Join(p.Profiles, " "), args[0])
	}
	return p, nil
}

// applyHint adds the hint only the command can give (it knows the
// profiles); every other error's hint comes from the error table
// (errors.go).
func applyHint(err error, args []string) error {
	if errors.Is(err, apply.ErrInvalid) {
		return withHint(err, "run 'tcptune validate --kernel %s' and 'tcptune diff %s'", strings.Join(args, " "), strings.Join(args, " "))
	}
	return err
}

func printApply(w, ew io.Writer, res *apply.Result) {
	if res.Plan != nil {
		printPlan(w, res.Plan)
	}
	for _, s := range res.Warnings {
		fmt.Fprintf(ew, "tcptune: warning: %s\n", s)
	}
	if res.Failed {
		return
	}
	switch {
	case res.DryRun:
		fmt.Fprintln(w, "dry run: nothing was written")
	case !res.Changed:
		fmt.Fprintln(w, "nothing to do")
	default:
		fmt.Fprintf(w, "applied (transaction %s); undo with 'tcptune rollback'\n", res.Transaction)
	}
	if p := res.Persisted; p != nil {
		verb := "persisted to"
		if res.DryRun {
			verb = "would persist to"
		}
		if !p.Written {
			verb = "persisted file unchanged:"
		}
		fmt.Fprintf(w, "%s %s\n", verb, p.File)
	}
	if len(res.Restart) > 0 {
		fmt.Fprintln(w, "\nlisteners still capped below the new somaxconn (restart or raise their listen backlog):")
		for _, l := range res.Restart {
			fmt.Fprintf(w, "  %s\tbacklog %d < %d\t%s[%d]\n", l.Addr, l.Backlog, l.NewLimit, l.Process, l.PID)
		}
	}
	if res.RestartErr != "" {
		fmt.Fprintf(ew, "tcptune: warning: could not list listeners to restart: %s\n", res.RestartErr)
	}
}

// doctorListeners adapts doctor's inet_diag reader to apply.ListenerSource.
type doctorListeners struct{}

func (doctorListeners) Listeners(context.Context) ([]apply.Listener, error) {
	ls, err := doctor.LiveListeners()
	if err != nil {
		return nil, err
	}
	doctor.AttachOwners("/proc", ls)
	out := make([]apply.Listener, 0, len(ls))
	for _, l := range ls {
		out = append(out, apply.Listener{Addr: l.Endpoint(), Backlog: l.MaxQueue, PID: l.PID, Process: l.Process})
	}
	return out, nil
}
