package reconcile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func TestTextfileParsesWithPrometheusParser(t *testing.T) {
	check := time.Unix(1735689600, 250e6)
	s := &State{
		Profiles: []string{"high-concurrency", `we"ird\name`}, Mode: ModeReport, Interval: "30s", LastCheck: &check,
		Checks: 7, DriftDetections: 3, Corrections: 2, Errors: 1,
		Drifted: []DriftedKey{
			{Key: "net.ipv4.tcp_syn_retries", Profile: "fail-fast"},
			{Key: "net.core.somaxconn", Profile: "high-concurrency"},
		},
		LastCorrections: []Correction{{Time: check.Add(-time.Minute), Key: "net.core.somaxconn"}},
	}
	path := filepath.Join(t.TempDir(), "tcptune.prom")
	if err := WriteTextfile(path, Metrics(s)); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("Prometheus text parser: %v", err)
	}
	for name := range fams {
		if !strings.HasPrefix(name, "tcptune_") {
			t.Errorf("metric %s does not start with tcptune_", name)
		}
	}
	value := func(name string) float64 {
		fam, ok := fams[name]
		if !ok || len(fam.GetMetric()) != 1 {
			t.Fatalf("metric %s: missing or not single", name)
		}
		m := fam.GetMetric()[0]
		if m.GetCounter() != nil {
			return m.GetCounter().GetValue()
		}
		return m.GetGauge().GetValue()
	}
	for name, want := range map[string]float64{
		"tcptune_reconcile_drifted_keys":                      2,
		"tcptune_reconcile_checks_total":                      7,
		"tcptune_reconcile_drift_detections_total":            3,
		"tcptune_reconcile_corrections_total":                 2,
		"tcptune_reconcile_errors_total":                      1,
		"tcptune_reconcile_last_check_timestamp_seconds":      1735689600.25,
		"tcptune_reconcile_last_correction_timestamp_seconds": 1735689540.25,
		"tcptune_reconcile_info":                              1,
	} {
		if got := value(name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	info := fams["tcptune_reconcile_info"].GetMetric()[0]
	labels := map[string]string{}
	for _, l := range info.GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	if labels["mode"] != "report" || labels["profiles"] != `high-concurrency,we"ird\name` {
		t.Errorf("info labels = %v (escaping must round-trip)", labels)
	}
	var keys []string
	for _, m := range fams["tcptune_reconcile_key_drifted"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "key" {
				keys = append(keys, l.GetValue())
			}
		}
	}
	if strings.Join(keys, ",") != "net.core.somaxconn,net.ipv4.tcp_syn_retries" {
		t.Errorf("key_drifted keys = %v", keys)
	}
	if fams["tcptune_reconcile_corrections_total"].GetType().String() != "COUNTER" {
		t.Error("corrections_total is not a counter")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("textfile dir has %d entries, want 1 (no temp files left)", len(entries))
	}
}
