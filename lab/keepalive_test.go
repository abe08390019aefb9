package lab

import (
	"strings"
	"testing"

	"github.com/tcptune/tcptune/resettrace"
)

// TestKeepaliveRace: the seed's Go client with an idle timeout longer than
// nginx's keepalive_timeout loses requests to the race; with the idle
// timeout shorter, none. The trace names keepalive-race.
func TestKeepaliveRace(t *testing.T) {
	needNetns(t)
	rep := runLab(t, Options{Scenario: "keepalive-race", Resolved: resolve(t, "high-concurrency"), Clients: 40})
	if rep.Skipped != "" {
		t.Fatalf("skipped: %s", rep.Skipped)
	}
	b, a := rep.Before, rep.After
	t.Logf("before %+v trace %+v\nafter %+v trace %+v\nnotes %v", b.Outcomes, b.Trace, a.Outcomes, a.Trace, rep.notes())
	if b.Reset+b.EOF == 0 {
		t.Errorf("before: no request lost to the race: %+v", b.Outcomes)
	}
	if a.OK != a.Attempts {
		t.Errorf("after (client idle < server keepalive): %+v", a.Outcomes)
	}
	checkTraceCause(t, rep, resettrace.KeepaliveRace)
	if a.Trace == nil || a.Trace.Sent[resettrace.KeepaliveRace] != 0 {
		t.Errorf("after: keepalive-race resets traced: %+v", a.Trace)
	}
}

// TestUpstreamKeepalive: nginx's upstream keepalive_timeout longer than the
// backend's idle timeout -> 502; shorter -> none.
func TestUpstreamKeepalive(t *testing.T) {
	needNetns(t)
	rep := runLab(t, Options{Scenario: "upstream-keepalive", Resolved: resolve(t, "high-concurrency"), Clients: 8})
	if rep.Skipped != "" {
		t.Fatalf("skipped: %s", rep.Skipped)
	}
	b, a := rep.Before, rep.After
	t.Logf("before %+v trace %+v\nafter %+v trace %+v\nnotes %v", b.Outcomes, b.Trace, a.Outcomes, a.Trace, rep.notes())
	if b.OK == b.Attempts || !strings.Contains(strings.Join(b.Notes, "\n"), "502 Bad Gateway") {
		t.Errorf("before: no 502 from nginx: %+v %v", b.Outcomes, b.Notes)
	}
	if a.OK != a.Attempts {
		t.Errorf("after (upstream keepalive_timeout < backend idle): %+v %v", a.Outcomes, a.Notes)
	}
	checkTraceCause(t, rep, resettrace.KeepaliveRace)
}

func checkTraceCause(t *testing.T, rep *Report, want resettrace.Cause) {
	t.Helper()
	c := rep.TraceCheck
	if c == nil || !c.OK || c.Dominant != want || c.Expected != want {
		t.Errorf("trace check %+v, want dominant %s", c, want)
	}
}
