package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tcptune/tcptune/apply"
)

func newDiffCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:     "diff P...|-f FILE",
		Aliases: []string{"plan"},
		Short:   "Show live vs desired values; writes nothing",
		Long: `Compare the live value of every key in the profiles with the value the
profiles want, and print the plan: what 'tcptune apply' would do. Nothing is
written. A dry-run audit for cron, CI or config management.

Actions: set (will be written), unchanged (already equal), satisfied (an
at-least/at-most setting the live value already meets), absent (this kernel
has no such key), host-wide (not settable from this network namespace).

The profiles are validated first, as by 'tcptune validate' (an invalid one is
exit 1, nothing read); warnings go to stderr, among them a new
ip_local_port_range over a live listener or Kubernetes' NodePorts, and keys
the active tuned profile also sets. With -f FILE and no P, the file is the
profile.

Exit status: 0 in sync, 2 drift (something would be set), 1 error.`,
		Example: `  tcptune diff high-concurrency
  tcptune plan fail-fast -o json
  tcptune diff high-concurrency fail-fast --sysctl-root /tmp/fake-proc-sys`,
		Args:              profileRefs(g),
		ValidArgsFunction: profileArgs(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			args = g.refs(args)
			r, err := g.resolveValid(args, g.kernelFacts())
			if err != nil {
				return err
			}
			plan, err := apply.NewPlan(r, g.FS(), g.Netns())
			if err != nil {
				return withHint(err, "check --sysctl-root (%s) and that you may read it", g.SysctlRoot)
			}
			if g.JSON() {
				if err := writeJSON(g.Stdout, planJSON(plan)); err != nil {
					return err
				}
			} else {
				printPlan(g.Stdout, plan)
			}
			if !plan.InSync() {
				return withExit(ExitChanges)
			}
			return nil
		},
	}
}

// PlanJSON is the stable JSON shape of a plan (diff and apply --dry-run).
type PlanJSON struct {
	Profiles []string       `json:"profiles"`
	InSync   bool           `json:"in_sync"`
	Changes  []apply.Change `json:"changes"`
}

func planJSON(p *apply.Plan) PlanJSON {
	ch := p.Changes
	if ch == nil {
		ch = []apply.Change{}
	}
	return PlanJSON{Profiles: p.Profiles, InSync: p.InSync(), Changes: ch}
}

// printPlan writes the human view of a plan.
func printPlan(w io.Writer, p *apply.Plan) {
	counts := map[apply.Action]int{}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\tKEY\tLIVE\t\tDESIRED\tACTION\n")
	for _, c := range p.Changes {
		counts[c.Action]++
		mark, arrow, after := " ", "", c.After.String()
		switch c.Action {
		case apply.ActionSet:
			mark, arrow = "~", "->"
		case apply.ActionSatisfied:
			mark, after = "=", fmt.Sprintf("(%s %s)", c.Op, c.Desired)
		case apply.ActionUnchanged:
			mark = "="
		case apply.ActionAbsent, apply.ActionHostWide:
			mark, after = "!", c.Note
		}
		before := c.Before.String()
		if before == "" {
			before = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", mark, c.Key, before, arrow, after, c.Action)
	}
	tw.Flush()
	var parts []string
	for _, a := range []apply.Action{apply.ActionSet, apply.ActionUnchanged, apply.ActionSatisfied, apply.ActionAbsent, apply.ActionHostWide} {
		if counts[a] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[a], a))
		}
	}
	state := "in sync"
	if !p.InSync() {
		state = "drift"
	}
	fmt.Fprintf(w, "\n%s: %s (%s)\n", strings.Join(p.Profiles, " + "), state, strings.Join(parts, ", "))
}
