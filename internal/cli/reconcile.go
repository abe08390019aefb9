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
				Apply: func(ctx context.Context, r *profiles.Resolved) (*apply.Result, error) {
					return apply.Apply(ctx, r, ao)
				},
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

// auditApply records an apply's changed keys (and the persisted ones when
// the file was rewritten). apply.go calls it after a successful, non-dry
// apply; an audit failure is a warning, never an apply failure.
func auditApply(g *Globals, stateDir string, res *apply.Result) {
	if res == nil || res.DryRun || res.Failed || !res.Changed {
		return
	}
	now, who := time.Now(), actor()
	var recs []systemd.Record
	for _, s := range res.Settings {
		if s.Action == apply.ActionSet {
			recs = append(recs, systemd.Record{Time: now, Action: systemd.ActionApply, Transaction: res.Transaction,
				Profile: profileList(res.Profiles), Key: s.Key.String(), Before: string(s.Before), After: string(s.After), Actor: who})
		}
	}
	if p := res.Persisted; p != nil && p.Written {
		for _, s := range res.Settings {
			if s.Action == apply.ActionSet || s.Action == apply.ActionUnchanged || s.Action == apply.ActionSatisfied {
				recs = append(recs, systemd.Record{Time: now, Action: systemd.ActionPersist, Transaction: res.Transaction,
					Profile: profileList(res.Profiles), Key: s.Key.String(), After: string(s.After), Actor: who, Note: p.File})
			}
		}
	}
	warnAudit(g, auditor(stateDir).Record(recs...))
}

// auditRollback records each key a rollback restored.
func auditRollback(g *Globals, stateDir string, res *apply.RollbackResult) {
	if res == nil {
		return
	}
	now, who := time.Now(), actor()
	tx := ""
	if len(res.Transactions) > 0 {
		tx = res.Transactions[0]
	}
	var recs []systemd.Record
	for _, s := range res.Settings {
		if s.Action == "restored" {
			recs = append(recs, systemd.Record{Time: now, Action: systemd.ActionRollback, Transaction: tx,
				Key: s.Key.String(), Before: string(s.Before), After: string(s.After), Actor: who})
		}
	}
	warnAudit(g, auditor(stateDir).Record(recs...))
}

func warnAudit(g *Globals, err error) {
	if err != nil {
		fmt.Fprintf(g.Stderr, "tcptune: warning: audit trail: %v\n", err)
	}
}

func profileList(ps []string) string { return strings.Join(ps, "+") }
