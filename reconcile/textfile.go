package reconcile

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/renameio/v2"
)

// Metrics renders s in the Prometheus text exposition format, for
// node_exporter's textfile collector. Every name starts with tcptune_.
func Metrics(s *State) []byte {
	var b bytes.Buffer
	metric := func(name, typ, help string) { writeHeader(&b, name, typ, help) }
	mode := `mode="` + escapeLabel(string(s.Mode)) + `"`

	metric("tcptune_reconcile_info", "gauge", "Reconcile loop identity: mode and profiles; always 1.")
	fmt.Fprintf(&b, "tcptune_reconcile_info{%s,profiles=\"%s\"} 1\n", mode, escapeLabel(strings.Join(s.Profiles, ",")))

	metric("tcptune_reconcile_drifted_keys", "gauge", "Keys out of profile after the last check.")
	fmt.Fprintf(&b, "tcptune_reconcile_drifted_keys{%s} %d\n", mode, len(s.Drifted))

	metric("tcptune_reconcile_key_drifted", "gauge", "1 for each key out of profile after the last check.")
	drifted := append([]DriftedKey(nil), s.Drifted...)
	sort.Slice(drifted, func(i, j int) bool { return drifted[i].Key < drifted[j].Key })
	for _, d := range drifted {
		fmt.Fprintf(&b, "tcptune_reconcile_key_drifted{key=\"%s\",profile=\"%s\"} 1\n", escapeLabel(d.Key), escapeLabel(d.Profile))
	}

	metric("tcptune_reconcile_checks_total", "counter", "Checks of live values against the profile.")
	fmt.Fprintf(&b, "tcptune_reconcile_checks_total %d\n", s.Checks)
	metric("tcptune_reconcile_drift_detections_total", "counter", "Key drifts detected.")
	fmt.Fprintf(&b, "tcptune_reconcile_drift_detections_total %d\n", s.DriftDetections)
	metric("tcptune_reconcile_corrections_total", "counter", "Drifted keys put back (enforce mode).")
	fmt.Fprintf(&b, "tcptune_reconcile_corrections_total %d\n", s.Corrections)
	metric("tcptune_reconcile_errors_total", "counter", "Checks or corrections that failed.")
	fmt.Fprintf(&b, "tcptune_reconcile_errors_total %d\n", s.Errors)

	if s.LastCheck != nil {
		metric("tcptune_reconcile_last_check_timestamp_seconds", "gauge", "Unix time of the last check.")
		fmt.Fprintf(&b, "tcptune_reconcile_last_check_timestamp_seconds %s\n", unixSeconds(*s.LastCheck))
	}
	if n := len(s.LastCorrections); n > 0 {
		metric("tcptune_reconcile_last_correction_timestamp_seconds", "gauge", "Unix time of the last correction.")
		fmt.Fprintf(&b, "tcptune_reconcile_last_correction_timestamp_seconds %s\n", unixSeconds(s.LastCorrections[n-1].Time))
	}
	return b.Bytes()
}

// writeHeader writes a metric family's HELP and TYPE lines.
func writeHeader(b *bytes.Buffer, name, typ, help string) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

// escapeLabel escapes a label value as the text format requires.
func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// WriteTextfile replaces path atomically: node_exporter never reads half a
// file. The temporary file starts with a dot and does not end in .prom, so
// the collector ignores it.
func WriteTextfile(path string, body []byte) error {
	if err := renameio.WriteFile(path, body, 0o644, renameio.WithTempDir(filepath.Dir(path))); err != nil {
		return fmt.Errorf("write textfile: %w", err)
	}
	return nil
}
