package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestStatusPrometheusExpfmt parses `status -o prometheus` with the
// Prometheus text parser, after an apply and a drift.
func TestStatusPrometheusExpfmt(t *testing.T) {
	dir := t.TempDir()
	writeFakeRoot(t, filepath.Join(dir, "proc"), nil)
	st := txDirs(dir)
	if code, out, errs := run(t, append(append([]string{"apply", "fail-fast"}, st...), persistFlags(dir)...)...); code != 0 {
		t.Fatalf("apply: %d\n%s%s", code, out, errs)
	}
	if err := os.WriteFile(filepath.Join(dir, "proc/net/ipv4/tcp_fin_timeout"), []byte("30\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, out, _ := run(t, append([]string{"status", "-o", "prometheus"}, st...)...)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(out))
	if err != nil {
		t.Fatalf("Prometheus text parser: %v\n%s", err, out)
	}
	for name := range fams {
		if !strings.HasPrefix(name, "tcptune_") || !model.IsValidLegacyMetricName(name) {
			t.Errorf("metric name %q", name)
		}
	}
	drifted := 0
	for _, m := range fams["tcptune_key_drift"].GetMetric() {
		if m.GetGauge().GetValue() == 1 {
			drifted++
		}
	}
	if drifted != 2 { // applied and persisted views of tcp_fin_timeout
		t.Errorf("tcptune_key_drift: %d series at 1, want 2", drifted)
	}
	if v := fams["tcptune_last_transaction_success"].GetMetric()[0].GetGauge().GetValue(); v != 1 {
		t.Errorf("tcptune_last_transaction_success = %v, want 1", v)
	}
}
