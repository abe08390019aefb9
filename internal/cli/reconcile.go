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
	"github.com/tcptune/tcptune/reconcile"
	"github.com/tcptune/tcptune/systemd"
)

// minReconcileInterval keeps a typo (--interval 1ms) from turning the loop
// into a busy writer of /proc/sys and the journal.
const minReconcileInterval = 100 * time.Millisecond

func newReconcileCmd(g *Globals) *cobra.Command {
	var tf txFlags
	var noPersist, strict bool
	var mode, textfile string
	var interval time.Duration
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

Exit status: 0 after a clean stop, 1 error (bad profile or flags).`,
		Example: `  tcptune reconcile high-concurrency --interval 30s
  tcptune reconcile high-concurrency fail-fast --mode report --textfile /var/lib/node_exporter/textfile/tcptune.prom`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: profileArgs(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := reconcile.ParseMode(mode)
			if err != nil {
				return withHint(err, "use --mode enforce or --mode report")
			}
			if interval < minReconcileInterval {
				return withHint(fmt.Errorf("--interval %v is too short", interval), "use at least %v, e.g. --interval 30s", minReconcileInterval)
			}
			r, err := g.resolveValid(args)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(tf.StateDir, 0o755); err != nil {
				return withHint(fmt.Errorf("create state directory: %w", err), "check --state-dir (%s)", tf.StateDir)
			}
			ao := tf.options(g)
			ao.NoPersist, ao.StrictPersist = noPersist, strict
			g.persistDefault(cmd, &ao)
			// A correction left unfinished by a reconcile that was killed
			// is rolled back by the next one, which then enforces again.
			ao.Origin, ao.RecoverOwnCrash = reconcile.Origin, true
			ctx, stop := transactionContext(cmdContext(cmd))
			defer stop()
			o := reconcile.Options{
				Resolved: r, Mode: m, Interval: interval, Reader: ao.FS, Netns: ao.Netns,
				Apply: func(ctx context.Context, p *apply.Plan, w *apply.Writers) (*apply.Result, error) {
					ao := ao
					ao.Writers = w
					return apply.ApplyPlan(ctx, p, ao)
				},
				Writers:   func() (*apply.Writers, error) { return apply.LoadWriters(tf.StateDir) },
				Auditor:   auditor(tf.StateDir),
				Notifier:  systemd.NewNotifier(),
				StateFile: filepath.Join(tf.StateDir, reconcile.StateFileName),
				Textfile:  textfile,
				Status:    func() (*apply.Status, error) { return apply.LoadStatus(ao) },
				Actor:     actor(),
				Log:       g.Stderr,
			}
			if err := reconcile.Run(ctx, o); err != nil {
				return err
			}
			if g.JSON() {
				st, err := reconcile.LoadState(tf.StateDir)
				if err != nil {
					return err
				}
				return writeJSON(g.Stdout, st)
			}
			return nil
		},
	}
	tf.register(cmd)
	fl := cmd.Flags()
	fl.DurationVar(&interval, "interval", 30*time.Second, "time between checks")
	fl.StringVar(&mode, "mode", string(reconcile.ModeEnforce), "enforce (re-apply drifted keys) or report (only record them)")
	fl.StringVar(&textfile, "textfile", "", "write Prometheus metrics to this file (node_exporter textfile collector), replaced atomically")
	fl.BoolVar(&noPersist, "no-persist", false, "do not write the sysctl.d file when correcting")
	fl.BoolVar(&strict, "strict-persist", false, "fail a correction when another sysctl.d file overrides a persisted value at boot")
	_ = cmd.RegisterFlagCompletionFunc("mode", cobra.FixedCompletions([]string{"enforce", "report"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
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
