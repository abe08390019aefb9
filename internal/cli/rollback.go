package cli

import (
	"bufio"
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tcptune/tcptune/apply"
)

// rollbackOptions: `tcptune rollback [--to TX] [--resolve] [--baseline]`.
type rollbackOptions struct {
	g                 *Globals
	tf                txFlags
	to                string
	resolve, baseline bool

	ao apply.Options // from Complete
}

func newRollbackCmd(g *Globals) *cobra.Command {
	o := &rollbackOptions{g: g}
	cmd := &cobra.Command{
		Use:   "rollback [--to TX]",
		Short: "Restore the values saved before the last apply (also after a crash)",
		Long: `Restore the original values recorded by the last transaction still in
effect, and put the persisted sysctl.d file back as it was. This also finishes
a transaction left half-done by a tcptune that was killed mid-apply.

With --to TX, every transaction in effect from the newest back to and
including TX is rolled back, newest first. TX is a transaction id or a unique
prefix of one (000003). Each restored key is read back.

A running 'tcptune reconcile --mode enforce' sees the rollback and stops
enforcing the keys it restored (until a new 'tcptune apply' of its profile),
so the rollback holds.

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
  tcptune rollback --to 000003
  tcptune rollback --resolve
  tcptune rollback --baseline`,
		Args: cobra.NoArgs,
		RunE: runCommand(o),
	}
	o.tf.register(cmd)
	cmd.Flags().StringVar(&o.to, "to", "", "roll back every transaction back to and including TX (an id or a unique prefix)")
	cmd.Flags().BoolVar(&o.resolve, "resolve", false, "mark a crashed transaction (or --to TX) settled without restoring")
	cmd.Flags().BoolVar(&o.baseline, "baseline", false, "restore every key tcptune ever changed to its value from before tcptune")
	return cmd
}

// Complete builds apply's options, with the audit trail as its Auditor.
func (o *rollbackOptions) Complete(*cobra.Command, []string) error {
	o.ao = o.tf.options(o.g)
	o.ao.Auditor = applyAuditor(o.tf.StateDir)
	return nil
}

func (o *rollbackOptions) Validate() error {
	switch {
	case o.resolve && o.baseline:
		return withHint(fmt.Errorf("--resolve and --baseline exclude each other"), "pick one")
	case o.baseline && o.to != "":
		return withHint(fmt.Errorf("--baseline and --to exclude each other"), "pick one")
	}
	return nil
}

// Run resolves, restores to the baseline, or rolls back (package apply);
// signals do not interrupt a restore once it runs.
func (o *rollbackOptions) Run(ctx context.Context) error {
	g := o.g
	ctx, stop := transactionContext(ctx)
	defer stop()
	if o.resolve {
		id, err := apply.Resolve(ctx, o.ao, o.to)
		if err != nil {
			return err
		}
		if g.JSON() {
			return writeJSON(g.Stdout, map[string]any{"changed": true, "failed": false, "resolved": id})
		}
		_, err = fmt.Fprintf(g.Stdout, "transaction %s marked resolved; live values kept\n", id)
		return outputErr(err)
	}
	var res *apply.RollbackResult
	var err error
	if o.baseline {
		res, err = apply.RollbackBaseline(ctx, o.ao)
	} else {
		res, err = apply.Rollback(ctx, o.ao, o.to)
	}
	if res != nil && (err == nil || len(res.Transactions) > 0) {
		if g.JSON() {
			if jerr := outputErr(writeJSON(g.Stdout, res)); jerr != nil && err == nil {
				err = jerr
			}
		} else {
			printRollback(g, res)
		}
	}
	return err // its hint: errors.go
}

func printRollback(g *Globals, res *apply.RollbackResult) {
	for _, s := range res.Warnings {
		fmt.Fprintf(g.Stderr, "tcptune: warning: %s\n", s)
	}
	w := bufio.NewWriter(g.Stdout)
	defer w.Flush()
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
