package lab

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestReplaceMarked(t *testing.T) {
	const b, e = ReadmeBegin, ReadmeEnd
	tests := []struct {
		name, doc, body, want string
	}{
		{"empty region", "# T\n" + b + "\n" + e + "\nafter\n", "| x |\n", "# T\n" + b + "\n| x |\n" + e + "\nafter\n"},
		{"old content replaced", "a\n" + b + "\nold 1\nold 2\n" + e + "\nz\n", "new", "a\n" + b + "\nnew\n" + e + "\nz\n"},
		{"trailing newlines of the body folded", b + "\n" + e + "\n", "new\n\n\n", b + "\nnew\n" + e + "\n"},
		{"empty body empties the region", b + "\nold\n" + e + "\n", "", b + "\n" + e + "\n"},
		{"end marker on the last line without newline", b + "\nold\n" + e, "new", b + "\nnew\n" + e},
		{"indented markers and CRLF kept", "x\r\n  " + b + "\r\nold\r\n  " + e + "\r\ny\r\n", "new",
			"x\r\n  " + b + "\r\nnew\n  " + e + "\r\ny\r\n"},
		{"marker quoted in prose is not a marker", "see `" + b + "`\n" + b + "\nold\n" + e + "\n", "new",
			"see `" + b + "`\n" + b + "\nnew\n" + e + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReplaceMarked([]byte(tc.doc), tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, string(got)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			again, err := ReplaceMarked(got, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != string(got) {
				t.Errorf("not idempotent:\n%q\nthen\n%q", got, again)
			}
		})
	}
}

func TestReplaceMarkedRefuses(t *testing.T) {
	const b, e = ReadmeBegin, ReadmeEnd
	tests := []struct {
		name, doc, wantIn string
	}{
		{"no markers", "# README\ntext\n", "neither"},
		{"only quoted in prose", "use `" + b + "` and `" + e + "`\n", "neither"},
		{"begin missing", "x\n" + e + "\n", "no line " + b + " (the end marker is on line 2)"},
		{"end missing", "x\ny\n" + b + "\n", "no line " + e + " (the begin marker is on line 3)"},
		{"out of order", e + "\nold\n" + b + "\n", e + " (line 1) comes before " + b + " (line 3)"},
		{"begin twice", b + "\n" + b + "\n" + e + "\n", b + " appears twice (lines 1 and 2)"},
		{"end twice", b + "\n" + e + "\nx\n" + e + "\n", e + " appears twice (lines 2 and 4)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReplaceMarked([]byte(tc.doc), "new")
			if err == nil {
				t.Fatalf("no error; got %q", got)
			}
			if !errors.Is(err, ErrMarkers) {
				t.Errorf("error %v does not wrap ErrMarkers", err)
			}
			if !strings.Contains(err.Error(), tc.wantIn) {
				t.Errorf("error %q does not say %q", err, tc.wantIn)
			}
			if got != nil {
				t.Errorf("returned a document with the error: %q", got)
			}
			if cerr := CheckMarkers([]byte(tc.doc)); cerr == nil || cerr.Error() != err.Error() {
				t.Errorf("CheckMarkers = %v, ReplaceMarked = %v", cerr, err)
			}
		})
	}
}

func f64(v float64) *float64 { return &v }

// report builds a measured report; its run count is len(Runs).
func report(scenario, profile string, runs int, before, after Phase) *Report {
	return &Report{Scenario: scenario, Profile: profile, Kernel: "6.18.0-test",
		Date: time.Date(2026, 11, 25, 1, 28, 0, 0, time.UTC), Runs: make([]RunResult, runs), Before: before, After: after}
}

func TestWriteSummary(t *testing.T) {
	const head = "| scenario | profile | before | after |\n|---|---|---|---|\n"
	burst := report("burst-resets", "high-concurrency", 2,
		Phase{Outcomes: Outcomes{Attempts: 1000, OK: 927, Reset: 73}},
		Phase{Outcomes: Outcomes{Attempts: 1000, OK: 1000}})
	nginx := report("burst-resets-nginx", "high-concurrency", 2,
		Phase{Outcomes: Outcomes{Attempts: 500, OK: 373, Reset: 127}},
		Phase{Outcomes: Outcomes{Attempts: 500, OK: 499, Reset: 1}})
	ports := report("port-exhaustion", "high-concurrency", 2,
		Phase{Outcomes: Outcomes{Attempts: 1000, OK: 200, AddrNotAvail: 800}},
		Phase{Outcomes: Outcomes{Attempts: 1000, OK: 1000}})
	flood := report("syn-flood", "syn-flood", 2,
		Phase{Outcomes: Outcomes{Attempts: 200, Timeout: 200}},
		Phase{Outcomes: Outcomes{Attempts: 200, OK: 198, Timeout: 2}})
	slow := report("slow-failure", "fail-fast", 2,
		Phase{Outcomes: Outcomes{Attempts: 10, Pending: 10}, BoundMs: 30000},
		Phase{Outcomes: Outcomes{Attempts: 10, Timeout: 10}, BoundMs: 30000, FailP50Ms: f64(19585.1), FailMaxMs: f64(19585.7)})
	slowMixed := report("slow-failure", "custom", 1,
		Phase{Outcomes: Outcomes{Attempts: 10, Timeout: 4, Pending: 6}, BoundMs: 30000, FailP50Ms: f64(900), FailMaxMs: f64(25400)},
		Phase{Outcomes: Outcomes{Attempts: 10, OK: 10}, BoundMs: 30000})
	other := report("future-lab", "p", 3,
		Phase{Outcomes: Outcomes{Attempts: 5, OK: 1, Other: 4}}, Phase{Outcomes: Outcomes{Attempts: 5, OK: 5}})
	skipped := &Report{Scenario: "syn-flood", Skipped: "hping3 is not installed"}

	tests := []struct {
		name string
		reps []*Report
		want string
	}{
		{"every scenario", []*Report{burst, nginx, ports, slow, flood}, head +
			"| burst-resets | `high-concurrency` | 73 resets of 1000, 927 ok | 0 resets of 1000, 1000 ok |\n" +
			"| burst-resets-nginx | `high-concurrency` | 127 resets of 500, 373 ok | 1 resets of 500, 499 ok |\n" +
			"| port-exhaustion | `high-concurrency` | 800 EADDRNOTAVAIL of 1000, 200 ok | 0 EADDRNOTAVAIL of 1000, 1000 ok |\n" +
			"| slow-failure | `fail-fast` | 10 of 10 not failed by the 30 s bound | 10 of 10 failed after 19.6 s |\n" +
			"| syn-flood | `syn-flood` | 0 of 200 legitimate connects ok | 198 of 200 legitimate connects ok |\n" +
			"\nMeasured 2026-11-25 01:28 UTC, kernel 6.18.0-test, 2 run(s) per scenario (`make lab`).\n"},
		{"slow-failure partly failed, then ok", []*Report{slowMixed}, head +
			"| slow-failure | `custom` | 4 of 10 failed after 900 ms (p50; max 25.4 s); 6 of 10 not failed by the 30 s bound | 10 of 10 ok |\n" +
			"\nMeasured 2026-11-25 01:28 UTC, kernel 6.18.0-test, 1 run(s) per scenario (`make lab`).\n"},
		{"unknown scenario falls back to ok count", []*Report{other}, head +
			"| future-lab | `p` | 1 of 5 ok | 5 of 5 ok |\n" +
			"\nMeasured 2026-11-25 01:28 UTC, kernel 6.18.0-test, 3 run(s) per scenario (`make lab`).\n"},
		{"skipped first: date from the first measured", []*Report{skipped, burst}, head +
			"| syn-flood | - | skipped: hping3 is not installed | - |\n" +
			"| burst-resets | `high-concurrency` | 73 resets of 1000, 927 ok | 0 resets of 1000, 1000 ok |\n" +
			"\nMeasured 2026-11-25 01:28 UTC, kernel 6.18.0-test, 2 run(s) per scenario (`make lab`).\n"},
		{"all skipped", []*Report{skipped}, head +
			"| syn-flood | - | skipped: hping3 is not installed | - |\n" +
			"\nMeasured unknown date, kernel " + KernelRelease() + ", 0 run(s) per scenario (`make lab`).\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := WriteSummary(&b, tc.reps); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, b.String()); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestReadmeWithSummary(t *testing.T) {
	rep := report("port-exhaustion", "high-concurrency", 1,
		Phase{Outcomes: Outcomes{Attempts: 400, OK: 200, AddrNotAvail: 200}},
		Phase{Outcomes: Outcomes{Attempts: 400, OK: 400}})
	doc := "# tcptune\n\nintro\n\n" + ReadmeBegin + "\nstale numbers\n" + ReadmeEnd + "\n\nmore\n"
	got, err := ReadmeWithSummary([]byte(doc), []*Report{rep})
	if err != nil {
		t.Fatal(err)
	}
	want := "# tcptune\n\nintro\n\n" + ReadmeBegin + "\n" +
		"| scenario | profile | before | after |\n|---|---|---|---|\n" +
		"| port-exhaustion | `high-concurrency` | 200 EADDRNOTAVAIL of 400, 200 ok | 0 EADDRNOTAVAIL of 400, 400 ok |\n" +
		"\nMeasured 2026-11-25 01:28 UTC, kernel 6.18.0-test, 1 run(s) per scenario (`make lab`).\n" +
		ReadmeEnd + "\n\nmore\n"
	if d := cmp.Diff(want, string(got)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if _, err := ReadmeWithSummary([]byte("# no markers\n"), []*Report{rep}); !errors.Is(err, ErrMarkers) {
		t.Errorf("missing markers: err = %v, want ErrMarkers", err)
	}
}
