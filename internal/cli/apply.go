package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tcptune/tcptune/apply"
	"github.com/tcptune/tcptune/doctor"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
	"github.com/tcptune/tcptune/validate"
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
	stringListVar(fl, &f.SearchDirs, "sysctl-d", "", nil, true, "sysctl.d directories in systemd's order, for the precedence report (default: --persist-dir, /run/sysctl.d, /usr/local/lib/sysctl.d, /usr/lib/sysctl.d)")
	fl.StringVar(&f.SysctlConf, "sysctl-conf", apply.DefaultSysctlConf, "the file procps 'sysctl --system' applies last")
}

func (f *txFlags) options(g *Globals) apply.Options {
	return apply.Options{
		FS: g.FS(), Netns: g.Netns(),
		StateDir: f.StateDir, PersistDir: f.PersistDir, SearchDirs: f.SearchDirs, SysctlConf: f.SysctlConf,
		LockWait: f.LockWait, Version: VersionString(),
	}
}

// applyOptions: `tcptune apply P...|-f FILE|PLAN.json`.
type applyOptions struct {
	g                                   *Globals
	tf                                  txFlags
	dryRun, noPersist, strict, detailed bool

	profiles []string
	resolved *profiles.Resolved // nil with a saved plan
	saved    *apply.Plan        // apply PLAN.json
	ao       apply.Options
}

func newApplyCmd(g *Globals) *cobra.Command {
	o := &applyOptions{g: g}
	cmd := &cobra.Command{
		Use:   "apply P...|-f FILE|PLAN.json",
		Short: "Apply profiles all-or-nothing, with read-back, rollback and persistence",
		Long: `Apply one or more profiles as one transaction.

Nothing is written unless every key validates (the same check as 'tcptune
validate --kernel': keys outside net.*, fs.file-max and fs.nr_open need a
root-owned profile's allow:) and is present and writable here; a setting with
ignore-failure, or a key of a module that is not loaded (nf_conntrack), may be
absent and is skipped. With -f FILE and no P, the file is the profile.
The original values are recorded durably in --state-dir before the first write;
each write is read back, and a refused, clamped or rewritten value (or SIGINT /
SIGTERM, SIGHUP, SIGQUIT) restores every key already written, in reverse order. Host-wide keys
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

SIGHUP (a dropped SSH session) and SIGQUIT roll back like SIGINT and SIGTERM;
a closed output pipe (tcptune apply P | head -1) does not change the exit
status of a committed transaction.

Exit status: 0 ok, 1 error (rolled back, nothing left changed);
with --detailed-exitcode, 2 when something changed.`,
		Example: `  tcptune apply high-concurrency --dry-run
  tcptune apply high-concurrency fail-fast -o json --detailed-exitcode
  tcptune apply syn-flood --no-persist
  tcptune apply -f ./web.yaml
  tcptune diff web --out plan.json && tcptune apply plan.json`,
		Args:              profileRefs(g),
		ValidArgsFunction: profileArgs(g),
		RunE:              runCommand(o),
	}
	o.tf.register(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&o.dryRun, "dry-run", false, "print the plan and the file that would be persisted; write nothing")
	fl.BoolVar(&o.noPersist, "no-persist", false, "do not write the sysctl.d file (the change is lost at reboot)")
	fl.BoolVar(&o.strict, "strict-persist", false, "fail (before writing) when another sysctl.d file overrides a persisted value at boot")
	fl.BoolVar(&o.detailed, "detailed-exitcode", false, "exit 2 when something changed (terraform's convention)")
	return cmd
}

// Complete builds apply's options: the one validation path with what is
// known of this machine (kernel, listeners, tuned), the persistence default
// of this namespace, the restart list, the audit trail.
func (o *applyOptions) Complete(cmd *cobra.Command, args []string) error {
	g := o.g
	o.profiles = g.refs(args)
	o.ao = o.tf.options(g)
	k := g.kernelFacts()
	o.ao.Validator = func(r *profiles.Resolved) []validate.Diagnostic { return validate.Validate(r, k) }
	o.ao.DryRun, o.ao.NoPersist, o.ao.StrictPersist = o.dryRun, o.noPersist, o.strict
	g.persistDefault(cmd, &o.ao)
	if g.SysctlRoot == sysctl.DefaultRoot {
		o.ao.Listeners = doctorListeners{}
	}
	o.ao.Auditor = applyAuditor(o.tf.StateDir)
	return nil
}

// Validate loads a saved plan and binds it to its profiles as they resolve
// now, or resolves the profiles (apply validates them again, with the
// kernel, before anything is written).
func (o *applyOptions) Validate() error {
	saved, err := o.g.savedPlan(o.profiles)
	if err != nil || saved != nil {
		o.saved = saved
		return err
	}
	o.resolved, err = o.g.resolve(o.profiles)
	return err
}

// Run applies (apply.Apply, or apply.ApplyPlan for a saved plan) under the
// transaction's signal handling and prints the result.
func (o *applyOptions) Run(ctx context.Context) error {
	g := o.g
	ctx, stop := transactionContext(ctx)
	if faults.afterWrite != nil { // test builds only (faults.go)
		o.ao.AfterWrite = faults.afterWrite(ctx, g.Stderr)
	}
	var res *apply.Result
	var err error
	if o.saved != nil {
		res, err = apply.ApplyPlan(ctx, o.saved, o.ao)
	} else {
		res, err = apply.Apply(ctx, o.resolved, o.ao)
	}
	stop()
	if res != nil {
		if g.JSON() {
			if jerr := outputErr(writeJSON(g.Stdout, res)); jerr != nil && err == nil {
				err = jerr
			}
		} else {
			printApply(g.Stdout, g.Stderr, res)
		}
	}
	if err != nil {
		if o.saved != nil {
			return err // the plan's errors carry their hint
		}
		return applyHint(err, o.profiles)
	}
	if o.detailed && res.Changed && !res.DryRun {
		return withExit(ExitChanges)
	}
	return nil
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
// (errors.go) or the error itself.
func applyHint(err error, args []string) error {
	if errors.Is(err, apply.ErrInvalid) {
		return withHint(err, "run 'tcptune validate --kernel %s' and 'tcptune diff %s'", strings.Join(args, " "), strings.Join(args, " "))
	}
	return err
}

func printApply(w, ew io.Writer, res *apply.Result) {
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	w = bw
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
			fmt.Fprintf(w, "    after a restart: %s\n", l.Prediction)
			if l.AppFix != "" {
				fmt.Fprintf(w, "    a restart alone is not enough: %s\n", l.AppFix)
			}
		}
	}
	if res.RestartErr != "" {
		fmt.Fprintf(ew, "tcptune: warning: could not list listeners to restart: %s\n", res.RestartErr)
	}
}

// doctorListeners adapts doctor's inet_diag reader to apply.ListenerSource;
// owners are looked up (NameOwners) only for the listeners on the restart
// list.
type doctorListeners struct{}

func (doctorListeners) Listeners(context.Context) ([]apply.Listener, error) {
	ls, err := doctor.LiveListeners()
	if err != nil {
		return nil, err
	}
	out := make([]apply.Listener, 0, len(ls))
	for _, l := range ls {
		out = append(out, apply.Listener{Addr: l.Endpoint(), Backlog: l.MaxQueue, Inode: l.Inode, Port: l.Port})
	}
	return out, nil
}

func (doctorListeners) NameOwners(ctx context.Context, ls []apply.Listener) {
	dl := make([]doctor.Listener, len(ls))
	for i, l := range ls {
		dl[i].Inode = l.Inode
	}
	doctor.AttachOwners("/proc", dl)
	var nginx *doctor.NginxConfig
	for i := range ls {
		ls[i].PID, ls[i].Process = dl[i].PID, dl[i].Process
		if !strings.Contains(ls[i].Process, "nginx") {
			continue
		}
		if nginx == nil { // the application's own backlog: nginx -T of the running nginx, once
			var err error
			if nginx, err = doctor.ReadNginxConfig(ctx, doctor.NginxArgsOf("/proc", ls[i].PID)...); err != nil {
				nginx = &doctor.NginxConfig{} // unknown: the prediction says it depends
			}
		}
		if b, where, ok := nginx.BacklogFor(ls[i].Port); ok && b > 0 {
			v := uint32(b)
			ls[i].AppBacklog, ls[i].AppBacklogFrom = &v, "nginx -T, "+where
		}
	}
}
