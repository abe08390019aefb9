package doctor

import (
	"strings"
	"testing"
	"time"

	"github.com/tcptune/tcptune/sysctl"
	"github.com/tcptune/tcptune/validate"
)

// TestResultUnknown: a tree where nothing is readable is "unknown", never
// "healthy"; the same tree with every file is healthy.
func TestResultUnknown(t *testing.T) {
	for _, tc := range []struct {
		name string
		only []string
		want string
	}{
		{"nothing readable", []string{"no-such-file"}, ResultUnknown},
		{"softnet_stat missing", []string{"netstat", "snmp", "sockstat"}, ResultUnknown},
		{"everything readable", nil, ResultHealthy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := fixtureTree(t, "linux-6.18", tc.only...)
			s, err := Collect(Source{ProcRoot: root})
			if err != nil {
				t.Fatal(err)
			}
			// Counters since boot in the fixture are not findings here:
			// zero them so only readability decides.
			for _, c := range []Counters{s.TCPExt, s.TCP} {
				for k := range c {
					c[k] = 0
				}
			}
			if s.Softnet != nil {
				s.Softnet.Dropped, s.Softnet.TimeSqueezed = 0, 0
			}
			r := Analyze(&Window{Before: s, After: s, Interval: time.Second})
			if r.Result != tc.want || r.Healthy != (tc.want == ResultHealthy) {
				t.Errorf("result %q healthy %v, want %q; findings %v unavailable %v", r.Result, r.Healthy, tc.want, r.Findings, r.Unavailable)
			}
			var b strings.Builder
			if err := WriteText(&b, r); err != nil {
				t.Fatal(err)
			}
			if first := strings.SplitN(b.String(), "\n", 2)[0]; !strings.HasPrefix(first, tc.want) {
				t.Errorf("text starts %q, want %q", first, tc.want)
			}
		})
	}
}

// TestKeepaliveRaceRule: TCPAbortOnData/TCPAbortOnClose rising without
// overflows is reported as a probable keepalive race pointing to --trace;
// with overflows, or since boot, it is not.
func TestKeepaliveRaceRule(t *testing.T) {
	snap := func(abortData, abortClose, overflows uint64) *Snapshot {
		return &Snapshot{TCPExt: Counters{"TCPAbortOnData": abortData, "TCPAbortOnClose": abortClose, "ListenOverflows": overflows},
			TCP: Counters{"OutRsts": abortData + abortClose}, ListenersRead: true}
	}
	race := Analyze(&Window{Before: snap(10, 5, 7), After: snap(30, 6, 7), Interval: 5 * time.Second})
	f := findingByID(race, "probable-keepalive-race")
	if f == nil {
		t.Fatalf("no probable-keepalive-race finding: %+v", race.Findings)
	}
	if !strings.Contains(f.Summary, "21 connection(s)") || f.Fix.Command != "tcptune doctor --trace 60s" ||
		!strings.Contains(f.Explanation, "idle timeout must be shorter") {
		t.Errorf("finding %+v", f)
	}
	if race.Result != ResultFindings {
		t.Errorf("result %s", race.Result)
	}
	if r := Analyze(&Window{Before: snap(10, 5, 7), After: snap(30, 6, 9), Interval: 5 * time.Second}); findingByID(r, "probable-keepalive-race") != nil {
		t.Error("reported a keepalive race while the accept queue overflowed")
	}
	if r := Analyze(&Window{After: snap(30, 6, 0)}); findingByID(r, "probable-keepalive-race") != nil {
		t.Error("reported a keepalive race from since-boot totals")
	}
}

func findingByID(r *Report, id string) *Finding {
	for i := range r.Findings {
		if r.Findings[i].ID == id {
			return &r.Findings[i]
		}
	}
	return nil
}

// TestAlreadyAppliedNotRecommended: with high-concurrency's values in force,
// an accept-queue overflow no longer tells the user to apply it.
func TestAlreadyAppliedNotRecommended(t *testing.T) {
	for _, tc := range []struct {
		somaxconn string
		applied   bool
	}{{"65535", true}, {"100000", true}, {"4096", false}} {
		s := &Snapshot{TCPExt: Counters{"ListenOverflows": 40, "ListenDrops": 40}, TCP: Counters{},
			Sysctls: Sysctls{keySomaxconn: sysctlValue(t, tc.somaxconn), validate.KeyAbort: sysctlValue(t, "0")}}
		r := Analyze(&Window{After: s})
		f := findingByID(r, "accept-queue-overflow")
		if f == nil {
			t.Fatalf("somaxconn %s: no finding", tc.somaxconn)
		}
		if f.Fix.AlreadyApplied != tc.applied || (f.Fix.Command == "") != tc.applied {
			t.Errorf("somaxconn %s: already_applied %v command %q, want applied %v", tc.somaxconn, f.Fix.AlreadyApplied, f.Fix.Command, tc.applied)
		}
		if tc.applied && !strings.Contains(f.Explanation, "may predate them") {
			t.Errorf("since-boot explanation: %q", f.Explanation)
		}
	}
}

func sysctlValue(t *testing.T, s string) sysctl.Value {
	t.Helper()
	v, err := sysctl.ParseValue(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestResetsReceivedRule: established resets beyond this side's own aborts
// are the peer's; the finding points to --trace and the peer.
func TestResetsReceivedRule(t *testing.T) {
	snap := func(est, abortData uint64) *Snapshot {
		return &Snapshot{TCP: Counters{"EstabResets": est}, TCPExt: Counters{"TCPAbortOnData": abortData, "ListenOverflows": 0}}
	}
	r := Analyze(&Window{Before: snap(100, 10), After: snap(130, 12), Interval: 5 * time.Second})
	f := findingByID(r, "resets-received")
	if f == nil || !strings.Contains(f.Summary, "28 established") || !strings.Contains(f.Explanation, "peer's") {
		t.Fatalf("finding %+v", f)
	}
	// Every reset explained by this side's aborts: not received.
	r = Analyze(&Window{Before: snap(100, 10), After: snap(105, 15), Interval: 5 * time.Second})
	if findingByID(r, "resets-received") != nil {
		t.Error("reported resets received that this side sent")
	}
}

// TestSynBurstVersusFlood: cookies that come back are real clients.
func TestSynBurstVersusFlood(t *testing.T) {
	snap := func(sent, recv uint64) *Snapshot {
		return &Snapshot{TCPExt: Counters{"SyncookiesSent": sent, "SyncookiesRecv": recv, "SyncookiesFailed": 0, "TCPReqQFullDoCookies": sent}}
	}
	burst := Analyze(&Window{Before: snap(0, 0), After: snap(400, 390), Interval: time.Second})
	if f := findingByID(burst, "syn-burst"); f == nil || f.Fix.Profile != "high-concurrency" || findingByID(burst, "syn-flood") != nil {
		t.Errorf("burst: %+v", burst.Findings)
	}
	flood := Analyze(&Window{Before: snap(0, 0), After: snap(4000, 12), Interval: time.Second})
	if f := findingByID(flood, "syn-flood"); f == nil || !strings.Contains(f.Explanation, "a flood") {
		t.Errorf("flood: %+v", flood.Findings)
	}
}

// TestAllNetnsResult: doctor --all-netns is "findings" when any namespace
// has findings (exit 2), else "unknown" when a namespace's report is
// unknown or a namespace could not be read (exit 3), else healthy; the
// text's first line says the same.
func TestAllNetnsResult(t *testing.T) {
	ns := func(results ...string) []NetnsReport {
		var out []NetnsReport
		for _, r := range results {
			rep := &Report{Result: r, Healthy: r == ResultHealthy, Findings: []Finding{}, Unavailable: []Unavailable{}}
			if r == ResultFindings {
				rep.Findings = append(rep.Findings, Finding{ID: "x", Severity: Warning})
			}
			out = append(out, NetnsReport{ID: "net:[1]", Report: rep})
		}
		return out
	}
	for _, tc := range []struct {
		name         string
		ns           []NetnsReport
		couldNotTell bool
		want         string
	}{
		{"all healthy", ns(ResultHealthy, ResultHealthy), false, ResultHealthy},
		{"one unknown", ns(ResultHealthy, ResultUnknown), false, ResultUnknown},
		{"a namespace not read", ns(ResultHealthy), true, ResultUnknown},
		{"findings win over unknown", ns(ResultUnknown, ResultFindings, ResultHealthy), true, ResultFindings},
		{"no namespace with listeners", nil, false, ResultHealthy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := allResult(tc.ns, tc.couldNotTell)
			if got != tc.want {
				t.Fatalf("allResult = %q, want %q", got, tc.want)
			}
			var b strings.Builder
			if err := WriteAllText(&b, &AllReport{Result: got, Healthy: got == ResultHealthy, Namespaces: tc.ns}); err != nil {
				t.Fatal(err)
			}
			first := strings.SplitN(b.String(), "\n", 2)[0]
			wantPrefix := map[string]string{ResultHealthy: "healthy:", ResultUnknown: "unknown:", ResultFindings: "1 finding(s)"}[tc.want]
			if !strings.HasPrefix(first, wantPrefix) {
				t.Errorf("text starts %q, want %q", first, wantPrefix)
			}
		})
	}
}
