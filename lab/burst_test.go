package lab

import (
	"testing"

	"github.com/tcptune/tcptune/resettrace"
)

// TestBurstResetsSmall is the make-test version of burst-resets: a few
// hundred clients in a guarded namespace. The before phase must show resets
// explained by accept-queue overflows, the after phase (high-concurrency
// applied through apply.Apply) none.
func TestBurstResetsSmall(t *testing.T) {
	needNetns(t)
	rep := runLab(t, Options{Scenario: "burst-resets", Resolved: resolve(t, "high-concurrency"), Clients: 300})
	b, a := rep.Before, rep.After
	t.Logf("before %+v counters %v\nafter %+v counters %v", b.Outcomes, b.Counters, a.Outcomes, a.Counters)
	for name, p := range map[string]Phase{"before": b, "after": a} {
		o := p.Outcomes
		if o.Attempts != 300 {
			t.Errorf("%s: %d attempts, want 300", name, o.Attempts)
		}
		if sum := o.OK + o.Reset + o.EOF + o.Refused + o.Timeout + o.AddrNotAvail + o.Pending + o.Other; sum != o.Attempts {
			t.Errorf("%s: classes sum to %d, attempts %d", name, sum, o.Attempts)
		}
	}
	if b.Settings["net.core.somaxconn"] != "128" || b.Settings["net.ipv4.tcp_abort_on_overflow"] != "1" {
		t.Errorf("before state not set: %v", b.Settings)
	}
	if a.Settings["net.core.somaxconn"] != "65535" || a.Settings["net.ipv4.tcp_abort_on_overflow"] != "0" {
		t.Errorf("profile not applied: %v", a.Settings)
	}
	if b.Reset == 0 {
		t.Errorf("before: no resets; the failure was not reproduced: %+v", b.Outcomes)
	}
	if b.Counters["TcpExt.ListenOverflows"] == 0 {
		t.Errorf("before: ListenOverflows did not move: %v", b.Counters)
	}
	if a.Reset != 0 {
		t.Errorf("after high-concurrency: %d resets, want 0", a.Reset)
	}
	if a.OK != a.Attempts {
		t.Errorf("after high-concurrency: %d of %d ok: %+v", a.OK, a.Attempts, a.Outcomes)
	}
	checkTraceCause(t, rep, resettrace.AcceptQueueOverflow)
}
