package cli

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/google/go-cmp/cmp"

	"github.com/tcptune/tcptune/apply"
	"github.com/tcptune/tcptune/sysctl"
)

// TestCommandNames: the names in the commands table are the names cobra
// routes (Use's first word, then the aliases), so the lazily built tree
// finds the same command the full tree would.
func TestCommandNames(t *testing.T) {
	g := &Globals{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
	for _, c := range commands {
		cmd := c.new(g)
		if got := append([]string{cmd.Name()}, cmd.Aliases...); !slices.Equal(got, c.names) {
			t.Errorf("commands table has %v for the command named %v", c.names, got)
		}
	}
}

// TestBuildRootOnlyTheNamedCommand: diff and apply build one command, not
// the tree; anything else (help, completion, unknown words or flags) builds
// all of it.
func TestBuildRootOnlyTheNamedCommand(t *testing.T) {
	g := &Globals{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
	names := func(args ...string) []string {
		var out []string
		for _, c := range buildRoot(g, args).Commands() {
			out = append(out, c.Name())
		}
		return out
	}
	for _, args := range [][]string{
		{"diff", "high-concurrency"},
		{"plan", "x"},
		{"-o", "json", "diff", "x"},
		{"-ojson", "--sysctl-root", "/tmp/x", "diff"},
		{"--output=json", "-f", "a.yaml", "--profile-dir", "d", "diff", "--help"},
	} {
		if got := names(args...); !cmp.Equal(got, []string{"diff"}) {
			t.Errorf("%q: built %v, want only diff", args, got)
		}
	}
	all := len(commands)
	for _, args := range [][]string{nil, {}, {"help", "diff"}, {"--help"}, {"-h"}, {"completion", "bash"}, {"__complete", "di"}, {"dif"}, {"-o"}, {"--", "diff"}} {
		if got := names(args...); len(got) < all {
			t.Errorf("%q: built %v, want the whole tree", args, got)
		}
	}
}

// countWriter counts Write calls.
type countWriter struct {
	bytes.Buffer
	writes int
}

func (w *countWriter) Write(p []byte) (int, error) { w.writes++; return w.Buffer.Write(p) }

// TestPrintPlanOneWrite: the diff table reaches the terminal in one
// write(2), not one per cell (181 for 13 lines before).
func TestPrintPlanOneWrite(t *testing.T) {
	p := &apply.Plan{Profiles: []string{"x"}}
	for _, k := range []string{"net.core.somaxconn", "net.ipv4.tcp_syn_retries", "net.ipv4.tcp_fin_timeout"} {
		p.Changes = append(p.Changes, apply.Change{Key: sysctl.MustKey(k), Before: "1", After: "2", Desired: "2", Action: apply.ActionSet})
	}
	var w countWriter
	printPlan(&w, p)
	if w.writes != 1 {
		t.Errorf("printPlan made %d writes, want 1:\n%s", w.writes, w.String())
	}
}

// TestWriteAlignedMatchesTabwriter: the diff table's own aligner lays out
// rows exactly as text/tabwriter did (empty cells, a non-ASCII cell, an
// empty last column included).
func TestWriteAlignedMatchesTabwriter(t *testing.T) {
	rows := [][]string{
		{"", "KEY", "LIVE", "", "DESIRED", "ACTION"},
		{"~", "net.core.somaxconn", "4096", "->", "65535", "set"},
		{"=", "net.ipv4.tcp_rmem", "4096 131072 33554432", "", "(at-least 4096 131072 16777216)", "satisfied"},
		{"!", "net.core.netdev_max_backlog", "-", "", "host-wide — not settable here", "host-wide"},
		{"", "", "", "", "", ""},
	}
	var want bytes.Buffer
	tw := tabwriter.NewWriter(&want, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
	got := bytes.NewBuffer(appendAligned(nil, rows))
	if d := cmp.Diff(want.String(), got.String()); d != "" {
		t.Errorf("appendAligned differs from tabwriter (-tabwriter +got):\n%s", d)
	}
}
