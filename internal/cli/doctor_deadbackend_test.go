package cli

import (
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tcptune/tcptune/internal/nstest"
)

// TestDoctorKernelDeadBackend: a connect to a peer that never answers (a
// veth whose other end has no address: ARP for it is never answered) stays in SYN-SENT with retransmitted
// SYNs; doctor names the destination and the setting that decides.
func TestDoctorKernelDeadBackend(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	nstest.Guard(t)
	for _, args := range [][]string{{"link", "add", "i11d", "type", "veth", "peer", "name", "i11e"},
		{"addr", "add", "10.211.9.1/24", "dev", "i11d"}, {"link", "set", "i11d", "up"}, {"link", "set", "i11e", "up"}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	go func() { _, _ = net.DialTimeout("tcp4", "10.211.9.2:8080", 8*time.Second) }()
	time.Sleep(200 * time.Millisecond)
	r, code := runDoctorJSON(t, "--interval", "2500ms")
	f := findingByID(r, "dead-backend")
	if f == nil || code != ExitChanges {
		t.Fatalf("exit %d, no dead-backend finding: %+v", code, r.Findings)
	}
	found := false
	for _, e := range f.Evidence {
		found = found || e.Name == "connecting to 10.211.9.2:8080" && strings.Contains(e.Value, "SYN sent")
	}
	if !found || f.Fix.Profile != "fail-fast" || !strings.Contains(f.Explanation, "proxy_connect_timeout") {
		t.Errorf("finding %+v", f)
	}
}
