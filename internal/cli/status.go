package cli

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tcptune/tcptune/apply"
	"github.com/tcptune/tcptune/reconcile"
)

// statusOptions: `tcptune status`.
type statusOptions struct {
	g       *Globals
	tf      txFlags
	history int
	ao      apply.Options // from Complete
}

func newStatusCmd(g *Globals) *cobra.Command {
	o := &statusOptions{g: g}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "What was applied, when, drift since, and any crashed transaction",
		Long: `Show the last transactions, the keys in effect and their live values, the
persisted sysctl.d file against live values, any transaction left half-done
by a crash (roll it back with 'tcptune rollback'), the reconcile loop's state
and drift when one runs, and the last changes from the audit trail (the same
records journald has, available without it). Writes nothing.

-o prometheus prints tcptune_* metrics for node_exporter's textfile
collector (docs/contract.md lists them); the exit status is the same.

A corrupt record (emptied by a power loss, garbled by a dying disk, or
tampered with) is listed as CORRUPT with the way out; nothing is ever written
from it.

The latest 10 transactions are listed (--history N for more: they are read
from their records, so the cost follows what is printed).

Exit status: 0 in sync, 2 drift, a crashed transaction or a corrupt record,
1 error.`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{"outputs": "text,json,prometheus"},
		RunE:        runCommand(o),
	}
	o.tf.register(cmd)
	cmd.Flags().IntVar(&o.history, "history", 10, "how many of the latest transactions to list")
	return cmd
}

func (o *statusOptions) Complete(*cobra.Command, []string) error {
	o.ao = o.tf.options(o.g)
	o.ao.History = o.history
	return nil
}

func (o *statusOptions) Validate() error {
	if o.history < 1 || o.history > apply.MaxRecords {
		return withHint(fmt.Errorf("--history %d: want 1 to %d (the records kept)", o.history, apply.MaxRecords), "tcptune status --history %d", apply.MaxRecords)
	}
	return nil
}

// Run gathers the overview (reconcile.LoadOverview) and prints it; exit 2
// on drift or a crashed transaction.
func (o *statusOptions) Run(context.Context) error {
	g := o.g
	n := statusAuditRecords
	if g.Output == "prometheus" {
		n = 0
	}
	v, err := reconcile.LoadOverview(o.ao, n)
	if err != nil {
		return withHint(err, "check --state-dir (%s)", o.tf.StateDir)
	}
	switch {
	case g.Output == "prometheus": // the status metrics and the reconcile loop's, one renderer
		if _, err := g.Stdout.Write(v.Metrics()); err != nil {
			return err
		}
	case g.JSON():
		if err := writeJSON(g.Stdout, v); err != nil {
			return err
		}
	default:
		printStatus(g, v)
	}
	if v.Attention() {
		return withExit(ExitChanges)
	}
	return nil
}

// statusAuditRecords is how many audit records status shows.
const statusAuditRecords = 10

func printStatus(g *Globals, full *reconcile.Overview) {
	bw := bufio.NewWriter(g.Stdout)
	defer bw.Flush()
	st, w := full.Status, bw
	corrupt := map[string]bool{}
	for _, c := range st.Corrupt {
		corrupt[c.ID] = true
		fmt.Fprintf(w, "CORRUPT: transaction %s (%s) cannot be read: %s\n  nothing is written from it; 'tcptune rollback --baseline' restores every key tcptune changed to its value from before tcptune, 'tcptune rollback --resolve --to %s' keeps the live values\n",
			c.ID, c.State, c.Error, c.ID)
	}
	for _, c := range st.Crashed {
		if corrupt[c.ID] {
			continue
		}
		fmt.Fprintf(w, "CRASHED: transaction %s (%s, pid %d) is %s: run 'tcptune rollback' (or --resolve)\n",
			c.ID, strings.Join(c.Profiles, "+"), c.PID, c.State)
	}
	if st.InProgress {
		fmt.Fprintln(w, "an apply or rollback is running now")
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TRANSACTION\tSTATE\tPROFILES\tKEYS\tSTARTED")
	for _, t := range st.Transactions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", t.ID, t.State, strings.Join(t.Profiles, "+"), t.Keys, t.Started.Local().Format("2006-01-02 15:04:05"))
	}
	tw.Flush()
	if len(st.Transactions) == 0 {
		fmt.Fprintln(w, "(no transactions)")
	}
	if len(st.Applied) > 0 {
		fmt.Fprintln(w, "\napplied:")
		printKeys(w, st.Applied)
	}
	if p := st.Persisted; p != nil {
		switch {
		case !p.Exists:
			fmt.Fprintf(w, "\npersisted: %s does not exist\n", p.File)
		case !p.Owned:
			fmt.Fprintf(w, "\npersisted: %s exists but was not written by tcptune\n", p.File)
		default:
			fmt.Fprintf(w, "\npersisted: %s (%s)\n", p.File, strings.Join(p.Profiles, "+"))
			printKeys(w, p.Keys)
		}
	}
	if rs := full.Reconcile; rs != nil {
		run := "stopped"
		switch {
		case rs.Running && rs.Stale(time.Now()):
			run = fmt.Sprintf("NOT RESPONDING (pid %d; no check for more than its interval)", rs.PID)
		case rs.Running:
			run = fmt.Sprintf("running (pid %d)", rs.PID)
		case rs.Died:
			run = fmt.Sprintf("DIED (pid %d is gone without stopping cleanly)", rs.PID)
		}
		fmt.Fprintf(w, "\nreconcile: %s, %s every %s, %d checks, %d corrections, %d errors\n",
			run, rs.Mode, rs.Interval, rs.Checks, rs.Corrections, rs.Errors)
		for _, d := range rs.Drifted {
			fmt.Fprintf(w, "  drifted: %s live %s, profile %s (%s) since %s\n", d.Key, d.Live, d.Desired, d.Profile, d.Since.Local().Format("2006-01-02 15:04:05"))
		}
		for _, r := range rs.Released {
			fmt.Fprintf(w, "  not enforced: %s live %s, profile %s (%s): %s\n", r.Key, r.Live, r.Desired, r.Profile, r.Note)
		}
	}
	if len(full.Audit) > 0 {
		fmt.Fprintf(w, "\nlast changes (audit trail; also 'journalctl TCPTUNE_KEY=...'):\n")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, r := range full.Audit {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s -> %s\t%s\n", r.Time.Local().Format("2006-01-02 15:04:05"), r.Action, r.Key, r.Before, r.After, r.Actor)
		}
		tw.Flush()
	}
	state := "in sync"
	if st.Drift {
		state = "DRIFT"
	}
	fmt.Fprintf(w, "\n%s\n", state)
}

func printKeys(w interface{ Write([]byte) (int, error) }, ks []apply.KeyStatus) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tKEY\tEXPECTED\tLIVE")
	for _, k := range ks {
		mark, live := "=", string(k.Live)
		if k.Drift {
			mark = "~"
		}
		if k.LiveErr != "" {
			live = k.LiveErr
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", mark, k.Key, k.Expected, live)
	}
	tw.Flush()
}
