package doctor

import (
	"fmt"
	"io"
	"strings"
)

// scopeText says what a report's counters cover.
func scopeText(mode string, seconds float64) string {
	if mode == "interval" {
		return fmt.Sprintf("over %.1fs", seconds)
	}
	return "since boot (one reading, --once)"
}

// WriteText prints r for a human: the verdict, each finding with its
// evidence and fix, then the listeners.
func WriteText(w io.Writer, r *Report) error {
	var b strings.Builder
	scope := scopeText(r.Mode, r.IntervalSeconds)
	if r.Netns != "" {
		scope += ", network namespace " + r.Netns
	}
	if r.Healthy {
		fmt.Fprintf(&b, "healthy: no findings %s\n", scope)
	} else if r.Result == ResultUnknown {
		fmt.Fprintf(&b, "unknown: no findings %s, but %d source(s) could not be read (see below): not healthy\n", scope, len(r.Unavailable))
	} else {
		fmt.Fprintf(&b, "%d finding(s) %s\n", len(r.Findings), scope)
	}
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "\n[%s] %s: %s\n", strings.ToUpper(string(f.Severity)), f.ID, f.Summary)
		fmt.Fprintf(&b, "%s\n", wrap(f.Explanation, 78, "  "))
		if len(f.Evidence) > 0 {
			b.WriteString("  evidence:\n")
			for _, e := range f.Evidence {
				fmt.Fprintf(&b, "    %-40s %s\n", e.Name, evidenceText(e))
			}
		}
		b.WriteString("  fix:\n")
		if f.Fix.Profile != "" && f.Fix.AlreadyApplied {
			fmt.Fprintf(&b, "    profile: %s (already in force: nothing to apply)\n", f.Fix.Profile)
		} else if f.Fix.Profile != "" {
			fmt.Fprintf(&b, "    profile: %s\n", f.Fix.Profile)
		}
		for _, k := range f.Fix.Keys {
			hw := ""
			if k.HostWide {
				hw = "  (host-wide: set it on the host)"
			}
			fmt.Fprintf(&b, "    %s = %s%s\n", k.Key, k.Value, hw)
		}
		if f.Fix.Command != "" {
			fmt.Fprintf(&b, "    run: %s\n", f.Fix.Command)
		}
		if f.Fix.Restart != "" {
			fmt.Fprintf(&b, "    then: %s\n", f.Fix.Restart)
		}
		if f.Fix.Note != "" {
			fmt.Fprintf(&b, "%s\n", wrap("note: "+f.Fix.Note, 78, "    "))
		}
	}
	if len(r.Listeners) > 0 {
		b.WriteString("\nlisteners (accept queue now / peak / limit):\n")
		for _, l := range r.Listeners {
			owner := ""
			if l.PID != 0 {
				owner = fmt.Sprintf("  %s[%d]", l.Process, l.PID)
			}
			note := ""
			if l.BelowSomaxconn && l.Status != StatusOK {
				note = "  below somaxconn"
			}
			fmt.Fprintf(&b, "  %-28s %6d %6d %6d  %-10s%s%s\n", l.Endpoint(), l.Queue, l.PeakQueue, l.MaxQueue, l.Status, owner, note)
		}
	}
	b.WriteString(nginxText(r))
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	if len(r.Unavailable) > 0 {
		b.WriteString("\nnot checked (could not read):\n")
		for _, u := range r.Unavailable {
			fmt.Fprintf(&b, "  %s: %s\n", u.Source, u.Reason)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func evidenceText(e Evidence) string {
	switch {
	case e.Delta != nil && e.PerSecond != nil:
		return fmt.Sprintf("+%d (%.1f/s; %d -> %d)", *e.Delta, *e.PerSecond, *e.Before, *e.After)
	case e.Delta != nil:
		return fmt.Sprintf("+%d (%d -> %d)", *e.Delta, *e.Before, *e.After)
	case e.After != nil:
		return fmt.Sprintf("%d since boot", *e.After)
	}
	return e.Value
}

// wrap folds s into lines of at most width, each starting with indent.
func wrap(s string, width int, indent string) string {
	var lines []string
	line := indent
	for _, word := range strings.Fields(s) {
		if len(line) > len(indent) && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += word
	}
	return strings.Join(append(lines, line), "\n")
}
