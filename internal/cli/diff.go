package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/tcptune/tcptune/apply"
	"github.com/tcptune/tcptune/profiles"
)

// diffOptions: `tcptune diff P... [--out PLAN.json]`.
type diffOptions struct {
	g        *Globals
	out      string
	profiles []string
	resolved *profiles.Resolved
}

func newDiffCmd(g *Globals) *cobra.Command {
	o := &diffOptions{g: g}
	cmd := &cobra.Command{
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

--out FILE saves the plan (docs/schema/plan.json): the profiles and a digest of
their settings, this tcptune's version, the namespace kind, the time, and per
key the observed, desired and planned values. 'tcptune apply FILE' applies
exactly that plan, or refuses it with nothing written when a live value moved
or the profile changed since.

Exit status: 0 in sync, 2 drift (something would be set), 1 error.`,
		Example: `  tcptune diff high-concurrency
  tcptune diff high-concurrency --out plan.json && tcptune apply plan.json
  tcptune plan fail-fast -o json
  tcptune diff high-concurrency fail-fast --sysctl-root /tmp/fake-proc-sys`,
		Args:              profileRefs(g),
		ValidArgsFunction: profileArgs(g),
		RunE:              runCommand(o),
	}
	cmd.Flags().StringVar(&o.out, "out", "", "save the plan to FILE (JSON) for 'tcptune apply FILE'")
	return cmd
}

func (o *diffOptions) Complete(_ *cobra.Command, args []string) error {
	o.profiles = o.g.refs(args)
	return nil
}

// Validate resolves and validates the profiles (the one validation path,
// judge.go): an invalid one is exit 1, nothing read.
func (o *diffOptions) Validate() error {
	r, err := o.g.resolveValid(o.profiles, o.g.kernelFacts())
	o.resolved = r
	return err
}

// Run plans (apply.NewPlan: the Plan apply executes), saves it with --out,
// and prints it; exit 2 on drift.
func (o *diffOptions) Run(context.Context) error {
	g := o.g
	fs := g.FS()
	plan, err := apply.NewPlan(o.resolved, fs, g.Netns())
	if err != nil {
		return withHint(err, "check --sysctl-root (%s) and that you may read it", g.SysctlRoot)
	}
	if o.out != "" {
		plan.Stamp(VersionString(), fs.Root(), time.Now())
		if err := apply.SavePlan(o.out, plan); err != nil {
			return withHint(err, "check that the directory of --out %s exists and is writable", o.out)
		}
	}
	if g.JSON() {
		if err := writeJSON(g.Stdout, planJSON(plan)); err != nil {
			return err
		}
	} else {
		printPlan(g.Stdout, plan)
		if o.out != "" {
			fmt.Fprintf(g.Stdout, "plan saved to %s; 'tcptune apply %s' applies exactly it\n", o.out, o.out)
		}
	}
	if !plan.InSync() {
		return withExit(ExitChanges)
	}
	return nil
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

// appendAligned appends rows of cells to b, every cell but a row's last
// padded to its column's widest cell plus two spaces: the layout of
// text/tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) for rows of equal length
// (TestWriteAlignedMatchesTabwriter), at a tenth of its cost on every diff.
func appendAligned(b []byte, rows [][]string) []byte {
	if len(rows) == 0 {
		return b
	}
	widths := make([]int, len(rows[0]))
	size := 0
	for _, r := range rows {
		for i, c := range r {
			if i < len(r)-1 {
				widths[i] = max(widths[i], utf8.RuneCountInString(c))
			}
			size += len(c)
		}
	}
	line := 1
	for _, n := range widths[:len(widths)-1] {
		line += n + 2
	}
	b = slices.Grow(b, size+len(rows)*line)
	for _, r := range rows {
		for i, c := range r {
			b = append(b, c...)
			if i < len(r)-1 {
				for pad := widths[i] + 2 - utf8.RuneCountInString(c); pad > 0; pad -= len(spaces) {
					b = append(b, spaces[:min(pad, len(spaces))]...)
				}
			}
		}
		b = append(b, '\n')
	}
	return b
}

const spaces = "                                                                "

// printPlan writes the human view of a plan.
func printPlan(w io.Writer, p *apply.Plan) {
	var counts [len(summaryActions)]int
	rows := make([][]string, 1, len(p.Changes)+1)
	rows[0] = []string{"", "KEY", "LIVE", "", "DESIRED", "ACTION"}
	for _, c := range p.Changes {
		if i := slices.Index(summaryActions[:], c.Action); i >= 0 {
			counts[i]++
		}
		mark, arrow, after := " ", "", c.After.String()
		switch c.Action {
		case apply.ActionSet:
			mark, arrow = "~", "->"
		case apply.ActionSatisfied:
			mark, after = "=", "("+string(c.Op)+" "+c.Desired.String()+")"
		case apply.ActionUnchanged:
			mark = "="
		case apply.ActionAbsent, apply.ActionHostWide:
			mark, after = "!", c.Note
		}
		before := c.Before.String()
		if before == "" {
			before = "-"
		}
		rows = append(rows, []string{mark, c.Key.String(), before, arrow, after, string(c.Action)})
	}
	// The table and the summary in one buffer and one write(2).
	b := appendAligned(nil, rows)
	b = append(b, '\n')
	b = append(b, strings.Join(p.Profiles, " + ")...)
	if p.InSync() {
		b = append(b, ": in sync ("...)
	} else {
		b = append(b, ": drift ("...)
	}
	n := 0
	for i, a := range summaryActions {
		if counts[i] > 0 {
			if n > 0 {
				b = append(b, ", "...)
			}
			b = strconv.AppendInt(b, int64(counts[i]), 10)
			b = append(b, ' ')
			b = append(b, a...)
			n++
		}
	}
	b = append(b, ")\n"...)
	w.Write(b)
}

// summaryActions are the actions in the order the summary counts them.
var summaryActions = [...]apply.Action{apply.ActionSet, apply.ActionUnchanged, apply.ActionSatisfied, apply.ActionAbsent, apply.ActionHostWide}
