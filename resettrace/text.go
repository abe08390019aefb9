package resettrace

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/tcptune/tcptune/doctor"
)

// WriteText prints r for a human: one block per row, most resets first.
func WriteText(w io.Writer, r *Report) error {
	var b strings.Builder
	if len(r.Rows) == 0 {
		fmt.Fprintf(&b, "no TCP resets sent or received in %.1fs\n", r.DurationSeconds)
	} else {
		fmt.Fprintf(&b, "%d TCP reset(s) in %.1fs; most sent: %s\n", r.Events, r.DurationSeconds, orNone(r.Dominant))
	}
	if !r.ReasonAvailable {
		b.WriteString("note: this kernel's tcp_send_reset has no reason (before Linux 6.10): causes are inferred from the socket state\n")
	}
	if r.Lost > 0 {
		fmt.Fprintf(&b, "warning: %d event(s) lost (ring buffer full): counts are a lower bound\n", r.Lost)
	}
	for _, row := range r.Rows {
		fmt.Fprintf(&b, "\n%-24s %6d %-8s local %s  remote %s", row.Cause, row.Count, row.Direction, row.Local, row.Remote)
		if row.Remotes > 1 {
			fmt.Fprintf(&b, " (+%d more)", row.Remotes-1)
		}
		fmt.Fprintf(&b, "\n  netns %s (inode %d)", row.Netns.Name, row.Netns.Inode)
		if p := row.Process; p != nil {
			b.WriteString("  process ")
			b.WriteString(processText(p))
		}
		fmt.Fprintf(&b, "\n  seen %s .. %s  kernel: %s  state: %s\n",
			row.FirstSeen.Format("15:04:05.000"), row.LastSeen.Format("15:04:05.000"), counts(row.Reasons), counts(row.States))
		fmt.Fprintf(&b, "%s\n", doctor.Wrap(row.Explanation, 78, "  "))
		fmt.Fprintf(&b, "  fix: %s\n", row.Fix.Summary)
		if row.Fix.Profile != "" {
			fmt.Fprintf(&b, "    profile: %s (tcptune apply %s)\n", row.Fix.Profile, row.Fix.Profile)
		}
		if len(row.Fix.Keys) > 0 {
			fmt.Fprintf(&b, "    keys: %s\n", strings.Join(row.Fix.Keys, ", "))
		}
		if row.Fix.Action != "" {
			fmt.Fprintf(&b, "%s\n", doctor.Wrap(row.Fix.Action, 78, "    "))
		}
		if row.Examine != "" {
			fmt.Fprintf(&b, "    examine: %s\n", row.Examine)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orNone(c Cause) string {
	if c == "" {
		return "none"
	}
	return string(c)
}

func processText(p *Process) string {
	var parts []string
	if p.PID != 0 {
		parts = append(parts, fmt.Sprintf("%s[%d]", p.Comm, p.PID))
	}
	if p.Unit != "" {
		parts = append(parts, "unit "+p.Unit)
	}
	if p.Container != "" {
		parts = append(parts, "container "+p.Container)
	}
	if p.Cgroup != "" {
		parts = append(parts, "cgroup "+p.Cgroup)
	}
	return strings.Join(parts, ", ")
}

// counts prints a name -> count map in a stable order.
func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}
