package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tcptune/tcptune/apply"
	"github.com/tcptune/tcptune/reconcile"
)

func newStatusCmd(g *Globals) *cobra.Command {
	var tf txFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "What was applied, when, drift since, and any crashed transaction",
		Long: `Show the last transactions, the keys in effect and their live values, the
persisted sysctl.d file against live values, and any transaction left
half-done by a crash (roll it back with 'tcptune rollback'). Writes nothing.

-o prometheus prints tcptune_* metrics for node_exporter's textfile
collector (docs/contract.md lists them); the exit status is the same.

Exit status: 0 in sync, 2 drift or a crashed transaction, 1 error.`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{"outputs": "text,json,prometheus"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := apply.LoadStatus(tf.options(g))
			if err != nil {
				return withHint(err, "check --state-dir (%s)", tf.StateDir)
			}
			switch {
			case g.Output == "prometheus": // the status metrics and the reconcile loop's, one renderer
				rs, err := reconcile.LoadState(tf.StateDir)
				if err != nil {
					return err
				}
				if _, err := g.Stdout.Write(reconcile.AuditMetrics(st, rs)); err != nil {
					return err
				}
			case g.JSON():
				if err := writeJSON(g.Stdout, st); err != nil {
					return err
				}
			default:
				printStatus(g, st)
			}
			if st.Drift || len(st.Crashed) > 0 {
				return withExit(ExitChanges)
			}
			return nil
		},
	}
	tf.register(cmd)
	return cmd
}

func printStatus(g *Globals, st *apply.Status) {
	w := g.Stdout
	for _, c := range st.Crashed {
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
