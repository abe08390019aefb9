package lab

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// row is one line of the before/after table.
type row struct {
	name          string
	before, after string
}

// rows builds the table: live settings, outcome classes, timings, counters.
func (r *Report) rows() []row {
	var rows []row
	keys := map[string]bool{}
	for k := range r.Before.Settings {
		keys[k] = true
	}
	for k := range r.After.Settings {
		keys[k] = true
	}
	watched := map[string]bool{}
	if sc, ok := Lookup(r.Scenario); ok {
		for _, k := range sc.Watch {
			watched[k] = true
		}
	}
	for _, k := range sortedKeys(keys) {
		b, a := r.Before.Settings[k], r.After.Settings[k]
		if b == a && r.BeforeState[k] == "" && !watched[k] {
			continue // unchanged and not part of the story
		}
		rows = append(rows, row{k, orDash(b), orDash(a)})
	}
	b, a := r.Before.Outcomes, r.After.Outcomes
	rows = append(rows, row{"attempts", itoa(b.Attempts), itoa(a.Attempts)},
		row{"ok", itoa(b.OK), itoa(a.OK)},
		row{"reset (connection reset by peer)", itoa(b.Reset), itoa(a.Reset)},
		row{"refused", itoa(b.Refused), itoa(a.Refused)},
		row{"timeout", itoa(b.Timeout), itoa(a.Timeout)})
	if b.EOF+a.EOF > 0 {
		rows = append(rows, row{"eof (server closed under the request)", itoa(b.EOF), itoa(a.EOF)})
	}
	if b.AddrNotAvail+a.AddrNotAvail > 0 || r.Scenario == "port-exhaustion" {
		rows = append(rows, row{"addr_not_avail (EADDRNOTAVAIL)", itoa(b.AddrNotAvail), itoa(a.AddrNotAvail)})
	}
	if b.Pending+a.Pending > 0 {
		rows = append(rows, row{"pending (still connecting at the bound)", itoa(b.Pending), itoa(a.Pending)})
	}
	rows = append(rows, row{"other", itoa(b.Other), itoa(a.Other)},
		row{"latency p50 (ms)", ms(r.Before.LatencyP50Ms), ms(r.After.LatencyP50Ms)},
		row{"latency p99 (ms)", ms(r.Before.LatencyP99Ms), ms(r.After.LatencyP99Ms)},
		row{"time to error p50 (ms)", ms(r.Before.FailP50Ms), ms(r.After.FailP50Ms)},
		row{"time to error max (ms)", ms(r.Before.FailMaxMs), ms(r.After.FailMaxMs)},
		row{"bound (ms)", i64(r.Before.BoundMs), i64(r.After.BoundMs)})
	names := map[string]bool{}
	for k := range r.Before.Counters {
		names[k] = true
	}
	for k := range r.After.Counters {
		names[k] = true
	}
	for _, k := range sortedKeys(names) {
		rows = append(rows, row{k, counter(r.Before.Counters, k), counter(r.After.Counters, k)})
	}
	return rows
}

// WriteText prints the report as an aligned before/after table.
func (r *Report) WriteText(w io.Writer) error {
	if r.Skipped != "" {
		_, err := fmt.Fprintf(w, "%s: SKIPPED: %s\n", r.Scenario, r.Skipped)
		return err
	}
	fmt.Fprintf(w, "%s: profile %s, %d clients x %d run(s), kernel %s, %s\n",
		r.Scenario, r.Profile, r.Clients, len(r.Runs), r.Kernel, r.Date.Format("2006-01-02 15:04 MST"))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\tbefore\tafter (%s)\n", r.Profile)
	for _, x := range r.rows() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", x.name, x.before, x.after)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range r.notes() {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	return nil
}

// WriteMarkdown prints the report as a section of docs/lab-results.md.
func (r *Report) WriteMarkdown(w io.Writer) error {
	fmt.Fprintf(w, "## %s\n\n", r.Scenario)
	if r.Skipped != "" {
		_, err := fmt.Fprintf(w, "Skipped: %s.\n\n", r.Skipped)
		return err
	}
	if sc, ok := Lookup(r.Scenario); ok {
		fmt.Fprintf(w, "%s. Profile `%s`, %d clients x %d run(s).\n\n", capitalize(sc.Summary), r.Profile, r.Clients, len(r.Runs))
	}
	fmt.Fprintf(w, "| | before | after (`%s`) |\n|---|---:|---:|\n", r.Profile)
	for _, x := range r.rows() {
		fmt.Fprintf(w, "| %s | %s | %s |\n", x.name, x.before, x.after)
	}
	fmt.Fprintln(w)
	for _, n := range r.notes() {
		fmt.Fprintf(w, "- %s\n", n)
	}
	_, err := fmt.Fprintln(w)
	return err
}

// notes are the workloads' own notes plus the host-wide keys the apply
// skipped, from the first run.
func (r *Report) notes() []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range append(append([]string{}, r.Before.Notes...), r.After.Notes...) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	if n := r.traceNote(); n != "" {
		out = append(out, n)
	}
	if sc, ok := Lookup(r.Scenario); ok && sc.AppFix != "" {
		out = append(out, "after also applies the application fix (no sysctl fixes this): "+sc.AppFix)
	}
	if len(r.Runs) > 0 {
		var hw []string
		for _, s := range r.Runs[0].Apply {
			if s.Action == "host-wide" {
				hw = append(hw, s.Key.String())
			}
		}
		if len(hw) > 0 {
			out = append(out, "host-wide keys reported by apply and not written in the namespace: "+strings.Join(hw, ", "))
		}
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func itoa(n int) string  { return strconv.Itoa(n) }
func i64(n int64) string { return strconv.FormatInt(n, 10) }
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func ms(p *float64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatFloat(*p, 'f', 1, 64)
}

// counter shows an absent counter as "-", never as 0.
func counter(m map[string]int64, k string) string {
	v, ok := m[k]
	if !ok {
		return "-"
	}
	return i64(v)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// WriteResultsDoc writes docs/lab-results.md: when and where the numbers
// were measured, how to rerun, then one section per scenario.
func WriteResultsDoc(w io.Writer, reps []*Report, runs int) error {
	kernel, date := KernelRelease(), "unknown"
	for _, r := range reps {
		if r.Skipped == "" {
			kernel, date = r.Kernel, r.Date.Format("2006-01-02 15:04 MST")
			break
		}
	}
	fmt.Fprintf(w, "# Lab results\n\n")
	fmt.Fprintf(w, "Generated by `make lab` (`tcptune lab all`) on %s, kernel %s, %d run(s) per scenario.\n", date, kernel, runs)
	fmt.Fprintf(w, "Every number below was measured in private network namespaces created for the run; nothing on the\n")
	fmt.Fprintf(w, "machine's own settings was changed. Rerun with `make lab`, or one scenario with\n")
	fmt.Fprintf(w, "`sudo tcptune lab run SCENARIO [--profile P] [--clients N] [--runs K] [-o json]`.\n\n")
	fmt.Fprintf(w, "\"before\" is the documented failing state the lab sets in the namespace; \"after\" is the same workload\n")
	fmt.Fprintf(w, "after the profile was applied with tcptune's own transactional apply and the server listened again.\n")
	fmt.Fprintf(w, "Counters are deltas of the namespace's /proc/net/netstat and /proc/net/snmp over the workload;\n")
	fmt.Fprintf(w, "\"-\" means absent (not measured, or not reported by this kernel), never zero.\n\n")
	for _, r := range reps {
		if err := r.WriteMarkdown(w); err != nil {
			return err
		}
	}
	return nil
}
