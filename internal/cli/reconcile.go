package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tcptune/tcptune/apply"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/reconcile"
	"github.com/tcptune/tcptune/systemd"
)

// minReconcileInterval keeps a typo (--interval 1ms) from turning the loop
// into a busy writer of /proc/sys and the journal.
const minReconcileInterval = 100 * time.Millisecond

// reconcileOptions: `tcptune reconcile P...`.
type reconcileOptions struct {
	g                 *Globals
	tf                txFlags
	noPersist, strict bool
	mode, textfile    string
	interval          time.Duration

	profiles []string
	m        reconcile.Mode
	resolved *profiles.Resolved
	ao       apply.Options
}

func newReconcileCmd(g *Globals) *cobra.Command {
	o := &reconcileOptions{g: g}
	cmd := &cobra.Command{
		Use:   "reconcile P... [--interval 30s] [--mode enforce|report]",
		Short: "Keep profiles applied: re-apply (or report) drifted keys every interval",
		Long: `Run until SIGTERM, SIGINT, SIGHUP or SIGQUIT, comparing live values with the profiles every
--interval. A key someone changed behind tcptune's back (sysctl -w, another
package's sysctl.d file, a udev rule) is drift:

  enforce  re-apply the drifted keys through the same transaction as
           'tcptune apply' (read-back, rollback on failure, persistence)
  report   only record them

Every drift and correction is recorded in the journal (journalctl
TCPTUNE_KEY=net.core.somaxconn) and in --state-dir/audit.jsonl; the loop's
state is in --state-dir/reconcile.json; --textfile writes Prometheus metrics
(tcptune_reconcile_*) for node_exporter's textfile collector, replaced
atomically. Under systemd (Type=notify) it sends READY=1 after the first
check, STATUS= with the drift, WATCHDOG=1 when WatchdogSec= is set, and
STOPPING=1. Stopping never rolls the profiles back; a signal during a
correction lets it finish first. A correction left unfinished by a reconcile
that was killed (SIGKILL, power loss) is rolled back by the next reconcile,
which then corrects again.

Writers coordinate: a key whose last tcptune write was 'tcptune rollback', or
an apply of a value this profile would change, is not enforced (STATUS= and
'tcptune status' list it as not enforced) until an apply sets it to what the
profile wants again ('tcptune apply P'). The rollback holds.

Exit status: 0 after a clean stop, 1 error (bad profile or flags).`,
		Example: `  tcptune reconcile high-concurrency --interval 30s
  tcptune reconcile high-concurrency fail-fast --mode report --textfile /var/lib/node_exporter/textfile/tcptune.prom`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: profileArgs(g),
		RunE:              runCommand(o),
	}
	o.tf.register(cmd)
	fl := cmd.Flags()
	fl.DurationVar(&o.interval, "interval", 30*time.Second, "time between checks")
	fl.StringVar(&o.mode, "mode", string(reconcile.ModeEnforce), "enforce (re-apply drifted keys) or report (only record them)")
	fl.StringVar(&o.textfile, "textfile", "", "write Prometheus metrics to this file (node_exporter textfile collector), replaced atomically")
	fl.BoolVar(&o.noPersist, "no-persist", false, "do not write the sysctl.d file when correcting")
	fl.BoolVar(&o.strict, "strict-persist", false, "fail a correction when another sysctl.d file overrides a persisted value at boot")
	_ = cmd.RegisterFlagCompletionFunc("mode", cobra.FixedCompletions([]string{"enforce", "report"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Complete builds the corrections' apply options: those of 'tcptune
// apply', with reconcile's Origin so a correction left unfinished by a
// killed reconcile is rolled back by the next one.
func (o *reconcileOptions) Complete(cmd *cobra.Command, args []string) error {
	o.profiles = args
	o.ao = o.tf.options(o.g)
	o.ao.NoPersist, o.ao.StrictPersist = o.noPersist, o.strict
	o.g.persistDefault(cmd, &o.ao)
	o.ao.Origin, o.ao.RecoverOwnCrash = reconcile.Origin, true
	return nil
}

func (o *reconcileOptions) Validate() error {
	m, err := reconcile.ParseMode(o.mode)
	if err != nil {
		return withHint(err, "use --mode enforce or --mode report")
	}
	o.m = m
	if o.interval < minReconcileInterval {
		return withHint(fmt.Errorf("--interval %v is too short", o.interval), "use at least %v, e.g. --interval 30s", minReconcileInterval)
	}
	if o.resolved, err = o.g.resolveValid(o.profiles); err != nil {
		return err
	}
	if err := os.MkdirAll(o.tf.StateDir, 0o755); err != nil {
		return withHint(fmt.Errorf("create state directory: %w", err), "check --state-dir (%s)", o.tf.StateDir)
	}
	return nil
}

// Run is reconcile.Run until a signal; each correction is the drift
// check's plan applied exactly (apply.ApplyPlan), refused when another
// writer wrote in between.
func (o *reconcileOptions) Run(ctx context.Context) error {
	g, ao, stateDir := o.g, o.ao, o.tf.StateDir
	ctx, stop := transactionContext(ctx)
	defer stop()
	ro := reconcile.Options{
		Resolved: o.resolved, Mode: o.m, Interval: o.interval, Reader: ao.FS, Netns: ao.Netns,
		Apply: func(ctx context.Context, p *apply.Plan, w *apply.Writers) (*apply.Result, error) {
			ao := ao
			ao.Writers = w
			return apply.ApplyPlan(ctx, p, ao)
		},
		Writers:   func() (*apply.Writers, error) { return apply.LoadWriters(stateDir) },
		Auditor:   auditor(stateDir),
		Notifier:  systemd.NewNotifier(),
		StateFile: filepath.Join(stateDir, reconcile.StateFileName),
		Textfile:  o.textfile,
		Status:    func() (*apply.Status, error) { return apply.LoadStatus(ao) },
		Actor:     actor(),
		Log:       g.Stderr,
	}
	if err := reconcile.Run(ctx, ro); err != nil {
		return err
	}
	if g.JSON() {
		st, err := reconcile.LoadState(stateDir)
		if err != nil {
			return err
		}
		return writeJSON(g.Stdout, st)
	}
	return nil
}

// envNoJournal=1 keeps audit records out of the journal (tests on hosts
// that run journald must not write the host's journal); the audit file is
// still written.
const envNoJournal = "TCPTUNE_NO_JOURNAL"

// auditor records to the journal when journald is there and always to
// stateDir/audit.jsonl, which 'tcptune systemd audit' (and status) read.
func auditor(stateDir string) *systemd.Auditor {
	a := systemd.NewAuditor(filepath.Join(stateDir, systemd.AuditFileName))
	if os.Getenv(envNoJournal) == "1" {
		a.Journal = nil
	}
	return a
}

// actor names who ran tcptune, for audit records: the systemd unit, the
// sudo user, or the login user. journald adds its own trusted _UID.
func actor() string {
	if u := os.Getenv("SUDO_USER"); u != "" {
		return u + " (sudo)"
	}
	if os.Getenv("INVOCATION_ID") != "" {
		return "systemd"
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return fmt.Sprintf("uid %d", os.Getuid())
}

// journalAuditor hands apply's audit entries (Options.Auditor) to the
// journal and stateDir/audit.jsonl, with who ran tcptune.
type journalAuditor struct {
	a     *systemd.Auditor
	actor string
}

// applyAuditor is the Options.Auditor of apply and rollback.
func applyAuditor(stateDir string) apply.Auditor {
	return journalAuditor{a: auditor(stateDir), actor: actor()}
}

func (j journalAuditor) Audit(es []apply.AuditEntry) error {
	recs := make([]systemd.Record, 0, len(es))
	for _, e := range es {
		recs = append(recs, systemd.Record{Time: e.Time, Action: systemd.Action(e.Action), Transaction: e.Transaction,
			Profile: profileList(e.Profiles), Key: e.Key.String(), Before: string(e.Before), After: string(e.After),
			Actor: j.actor, Note: e.Note})
	}
	return j.a.Record(recs...)
}

func profileList(ps []string) string { return strings.Join(ps, "+") }
