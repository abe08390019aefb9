package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tcptune/tcptune/internal/nstest"
	"github.com/tcptune/tcptune/sysctl"
)

// TestKernelDiff sets known values in a private network namespace and checks
// that diff reads them from the real /proc/sys, and that host-wide keys are
// reported as such there.
func TestKernelDiff(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	fs := sysctl.NewFS("")
	for k, v := range map[string]sysctl.Value{
		"net.core.somaxconn":           "1234",
		"net.ipv4.tcp_synack_retries":  "1",
		"net.ipv4.tcp_max_syn_backlog": "512",
		"net.ipv4.tcp_syncookies":      "1",
	} {
		if err := fs.Write(sysctl.MustKey(k), v); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	code := Run([]string{"diff", "syn-flood", "-o", "json"}, nil, &out, &errb)
	if code != ExitChanges {
		t.Fatalf("diff exit %d, want 2; stderr: %s", code, errb.String())
	}
	var got PlanJSON
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, c := range got.Changes {
		seen[c.Key.String()] = string(c.Before) + " " + string(c.Action) + " " + string(c.After)
	}
	want := map[string]string{
		"net.core.somaxconn":           "1234 set 65535",
		"net.ipv4.tcp_synack_retries":  "1 satisfied 1",
		"net.ipv4.tcp_max_syn_backlog": "512 set 65535",
		"net.ipv4.tcp_syncookies":      "1 unchanged 1",
	}
	for k, w := range want {
		if seen[k] != w {
			t.Errorf("%s: %q, want %q", k, seen[k], w)
		}
	}

	// high-concurrency in a child namespace: host-wide keys are not drift.
	out.Reset()
	Run([]string{"diff", "high-concurrency"}, nil, &out, &errb)
	for _, k := range []string{"net.core.netdev_max_backlog", "net.core.rmem_max"} {
		if !strings.Contains(out.String(), k) || !lineHas(out.String(), k, "host-wide") {
			t.Errorf("%s not reported host-wide:\n%s", k, out.String())
		}
	}
}

func lineHas(text, a, b string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, a) && strings.Contains(l, b) {
			return true
		}
	}
	return false
}
