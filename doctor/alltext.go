package doctor

import (
	"fmt"
	"io"
	"strings"
)

// WriteAllText prints an AllReport: a summary, then each namespace's header
// (identity, owner, its own somaxconn) followed by its report.
func WriteAllText(w io.Writer, r *AllReport) error {
	var b strings.Builder
	scope := scopeText(r.Mode, r.IntervalSeconds)
	findings := 0
	for _, n := range r.Namespaces {
		findings += len(n.Report.Findings)
	}
	verdict := "healthy: no findings"
	switch r.Result {
	case ResultFindings:
		verdict = fmt.Sprintf("%d finding(s)", findings)
	case ResultUnknown:
		verdict = "unknown: no findings"
	}
	fmt.Fprintf(&b, "%s %s in %d network namespace(s) with listeners (%d without listeners skipped)\n",
		verdict, scope, len(r.Namespaces), r.WithoutListeners)
	if r.Result == ResultUnknown {
		b.WriteString("not healthy: a namespace, or a source in one, could not be read (see below)\n")
	}
	if r.UnreadableProcesses > 0 {
		fmt.Fprintf(&b, "note: the namespace of %d process(es) could not be read (needs CAP_SYS_PTRACE over them); their namespaces may be missing\n", r.UnreadableProcesses)
	}
	for _, u := range r.Unavailable {
		fmt.Fprintf(&b, "not checked: %s: %s\n", u.Source, u.Reason)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	for _, n := range r.Namespaces {
		cur := ""
		if n.Current {
			cur = ", this one"
		}
		som := n.Somaxconn
		if som == "" {
			som = "unknown"
		}
		fmt.Fprintf(w, "\n=== network namespace %s (%s, %s%s): somaxconn %s, enter with --netns %s\n",
			n.ID, n.Kind, netnsOwnerText(n.Owner), cur, som, n.Path)
		if err := WriteText(w, n.Report); err != nil {
			return err
		}
	}
	return nil
}

func netnsOwnerText(o NetnsOwner) string {
	if o.Kind == "host" {
		return "the host"
	}
	return o.String()
}
