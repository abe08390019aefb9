package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tcptune/tcptune/apply"
)

func newRollbackCmd(g *Globals) *cobra.Command {
	var tf txFlags
	var to string
	var resolve, baseline bool
	cmd := &cobra.Command{
		Use:   "rollback [--to TX]",
		Short: "Restore the values saved before the last apply (also after a crash)",
		Long: `Restore the original values recorded by the last transaction still in
effect, and put the persisted sysctl.d file back as it was. This also finishes
a transaction left half-done by a tcptune that was killed mid-apply.

With --to TX, every transaction in effect from the newest back to and
including TX is rolled back, newest first. Each restored key is read back.

--resolve marks a crashed transaction as settled without restoring anything
(you keep the live values); 'tcptune apply' refuses to run until a crashed
transaction is rolled back or resolved.

--baseline restores every key tcptune ever changed to its value from before
the first transaction that changed it, and the persisted file to what it was
before tcptune first replaced it; every open transaction is then marked rolled
back. It reaches past pruned records, and it is the way out when a record is
corrupt (status lists corrupt records; nothing is ever written from one).

Signals (SIGINT, SIGTERM, SIGHUP, SIGQUIT) do not interrupt a rollback once
it restores: it runs to the end.

Exit status: 0 restored, 1 error (nothing to roll back, or a key could not be
restored: the transaction stays open and 'tcptune status' shows it).`,
		Example: `  tcptune rollback
  tcptune rollback --to 000003-20250101T120000Z
  tcptune rollback --resolve
  tcptune rollback --baseline`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o := tf.options(g)
			ctx, stop := transactionContext(cmdContext(cmd))
			defer stop()
			if resolve && baseline {
				return withHint(fmt.Errorf("--resolve and --baseline exclude each other"), "pick one")
			}
			if resolve {
				id, err := apply.Resolve(o, to)
				if err != nil {
					return withHint(err, "run 'tcptune status' to see the transactions")
				}
				if g.JSON() {
					return writeJSON(g.Stdout, map[string]any{"changed": true, "failed": false, "resolved": id})
				}
				_, err = fmt.Fprintf(g.Stdout, "transaction %s marked resolved; live values kept\n", id)
				return outputErr(err)
			}
			var res *apply.RollbackResult
			var err error
			if baseline {
				if to != "" {
					return withHint(fmt.Errorf("--baseline and --to exclude each other"), "pick one")
				}
				res, err = apply.RollbackBaseline(ctx, o)
			} else {
				res, err = apply.Rollback(ctx, o, to)
			}
			auditRollback(g, tf.StateDir, res)
			if res != nil && (err == nil || len(res.Transactions) > 0) {
				if g.JSON() {
					if jerr := outputErr(writeJSON(g.Stdout, res)); jerr != nil && err == nil {
						err = jerr
					}
				} else {
					printRollback(g, res)
				}
			}
			switch {
			case errors.Is(err, apply.ErrNoTransaction):
				return withHint(err, "run 'tcptune status' to see the transactions")
			case errors.Is(err, apply.ErrLocked):
				return withHint(err, "wait for the other tcptune to finish, or raise --lock-wait")
			case errors.Is(err, apply.ErrCorruptRecord):
				return withHint(err, "'tcptune rollback --baseline' or 'tcptune rollback --resolve --to ID'")
			case errors.Is(err, apply.ErrOtherTarget):
				return withHint(err, "%s", apply.RollbackHint(err))
			case errors.Is(err, apply.ErrRestore):
				return withHint(err, "fix the cause and run 'tcptune rollback' again; the transaction stays open")
			}
			return err
		},
	}
	tf.register(cmd)
	cmd.Flags().StringVar(&to, "to", "", "roll back every transaction back to and including TX")
	cmd.Flags().BoolVar(&resolve, "resolve", false, "mark a crashed transaction (or --to TX) settled without restoring")
	cmd.Flags().BoolVar(&baseline, "baseline", false, "restore every key tcptune ever changed to its value from before tcptune")
	return cmd
}

func printRollback(g *Globals, res *apply.RollbackResult) {
	w := g.Stdout
	for _, s := range res.Settings {
		fmt.Fprintf(w, "%-16s %s: %s -> %s\n", s.Action, s.Key, orDash(string(s.Before)), s.After)
	}
	for _, p := range res.PersistRestored {
		fmt.Fprintf(w, "restored %s\n", p)
	}
	fmt.Fprintf(w, "rolled back %d transaction(s): %v\n", len(res.Transactions), res.Transactions)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
