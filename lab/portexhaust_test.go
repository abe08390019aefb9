package lab

import "testing"

// TestPortExhaustion: with 200 ports and no TIME-WAIT reuse, 400 short
// connections must run out of ports; with high-concurrency none may.
func TestPortExhaustion(t *testing.T) {
	needNetns(t)
	rep := runLab(t, Options{Scenario: "port-exhaustion", Resolved: resolve(t, "high-concurrency"), Clients: 400})
	b, a := rep.Before, rep.After
	t.Logf("before %+v\nafter %+v", b.Outcomes, a.Outcomes)
	if b.AddrNotAvail == 0 || b.OK > 200 {
		t.Errorf("before: %d EADDRNOTAVAIL, %d ok from a 200-port range", b.AddrNotAvail, b.OK)
	}
	if a.AddrNotAvail != 0 || a.OK != a.Attempts {
		t.Errorf("after high-concurrency: %+v", a.Outcomes)
	}
}
