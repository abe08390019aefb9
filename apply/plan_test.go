package apply

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcptune/tcptune/internal/fakeroot"
	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

func fakeTree(t *testing.T, files map[string]string) *sysctl.FS {
	t.Helper()
	return sysctl.NewFS(fakeroot.New(t, files))
}

func resolved(t *testing.T, yaml string) *profiles.Resolved {
	t.Helper()
	p := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := (&profiles.Loader{}).Resolve(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestNewPlan(t *testing.T) {
	fs := fakeTree(t, map[string]string{
		"net.core.somaxconn":           "4096",
		"net.ipv4.tcp_rmem":            "4096\t131072\t33554432",
		"net.ipv4.tcp_wmem":            "4096\t16384\t4194304",
		"net.ipv4.tcp_syn_retries":     "2",
		"net.ipv4.tcp_fin_timeout":     "60",
		"net.ipv4.ip_local_port_range": "32768\t60999",
		"net.core.netdev_max_backlog":  "1000",
	})
	r := resolved(t, `name: p
settings:
  net.core.somaxconn: {value: 65535, op: at-least}
  net.ipv4.tcp_rmem: {value: "4096 131072 16777216", op: at-least}
  net.ipv4.tcp_wmem: {value: "4096 65536 16777216", op: at-least}
  net.ipv4.tcp_syn_retries: {value: 3, op: at-most}
  net.ipv4.tcp_fin_timeout: 60
  net.ipv4.ip_local_port_range: "10240 65535"
  net.ipv4.tcp_nosuch: 1
  net.core.netdev_max_backlog: {value: 16384, op: at-least}
`)
	type row struct {
		Key, Before, After string
		Action             Action
	}
	rows := func(p *Plan) []row {
		var out []row
		for _, c := range p.Changes {
			out = append(out, row{c.Key.String(), string(c.Before), string(c.After), c.Action})
		}
		return out
	}
	p, err := NewPlan(r, fs, netns.Initial)
	if err != nil {
		t.Fatal(err)
	}
	want := []row{
		{"net.core.netdev_max_backlog", "1000", "16384", ActionSet},
		{"net.core.somaxconn", "4096", "65535", ActionSet},
		{"net.ipv4.ip_local_port_range", "32768 60999", "10240 65535", ActionSet},
		{"net.ipv4.tcp_fin_timeout", "60", "60", ActionUnchanged},
		{"net.ipv4.tcp_nosuch", "", "", ActionAbsent},
		// at-least, field by field: the admin's larger max (32 MiB) is kept.
		{"net.ipv4.tcp_rmem", "4096 131072 33554432", "4096 131072 33554432", ActionSatisfied},
		{"net.ipv4.tcp_syn_retries", "2", "2", ActionSatisfied},
		// default raised, max raised: both fields move, min stays.
		{"net.ipv4.tcp_wmem", "4096 16384 4194304", "4096 65536 16777216", ActionSet},
	}
	if diff := cmp.Diff(want, rows(p)); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	if p.InSync() || len(p.ToSet()) != 4 {
		t.Errorf("InSync = %v, ToSet = %d", p.InSync(), len(p.ToSet()))
	}

	// In a child network namespace host-wide keys are not settable: they are
	// reported as host-wide whether or not they are visible.
	p, err = NewPlan(r, fs, netns.Child)
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Changes[0]; c.Action != ActionHostWide || c.Note == "" {
		t.Errorf("netdev_max_backlog in a child netns: %+v", c)
	}
}

func TestTarget(t *testing.T) {
	tests := []struct {
		op            profiles.Op
		live, desired sysctl.Value
		after         sysctl.Value
		action        Action
	}{
		{profiles.OpExact, "5", "5", "5", ActionUnchanged},
		{profiles.OpExact, "5", "3", "3", ActionSet},
		{profiles.OpAtLeast, "5", "3", "5", ActionSatisfied},
		{profiles.OpAtLeast, "2", "3", "3", ActionSet},
		{profiles.OpAtMost, "5", "3", "3", ActionSet},
		{profiles.OpAtMost, "2", "3", "2", ActionSatisfied},
		{profiles.OpAtLeast, "1 9 3", "2 2 2", "2 9 3", ActionSet},
		{profiles.OpAtLeast, "cubic", "bbr", "bbr", ActionSet},   // not numeric: exact
		{profiles.OpAtLeast, "1 2", "1 2 3", "1 2 3", ActionSet}, // shape differs: exact
	}
	for _, tt := range tests {
		after, action := Target(tt.op, tt.live, tt.desired)
		if after != tt.after || action != tt.action {
			t.Errorf("Target(%s, %q, %q) = %q %s, want %q %s", tt.op, tt.live, tt.desired, after, action, tt.after, tt.action)
		}
	}
}

func TestPlanReadError(t *testing.T) {
	fs := sysctl.NewFS(filepath.Join(t.TempDir(), "no-such-root"))
	r := resolved(t, "name: p\nsettings:\n  net.core.somaxconn: 1\n")
	if _, err := NewPlan(r, fs, netns.Initial); err == nil {
		t.Fatal("plan over a missing sysctl root succeeded")
	}
}

// The digest NewPlan leaves to MarshalJSON is in every JSON form of the plan
// (diff -o json, a saved plan, a record's plan), and is the profile's Digest.
func TestPlanJSONCarriesDigest(t *testing.T) {
	fs := fakeTree(t, map[string]string{"net.core.somaxconn": "4096"})
	r := resolved(t, "name: p\nsettings:\n  net.core.somaxconn: {value: 65535, op: at-least}\n")
	p, err := NewPlan(r, fs, netns.Initial)
	if err != nil {
		t.Fatal(err)
	}
	want := Digest(r)
	if !strings.HasPrefix(want, "sha256:") {
		t.Fatalf("Digest = %q", want)
	}
	for name, v := range map[string]any{"*Plan": p, "Plan": *p, "in a struct": struct{ Plan *Plan }{p}} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `"digest":"`+want+`"`) {
			t.Errorf("%s: %s has no digest %s", name, b, want)
		}
	}
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"digest": "`+want+`"`) {
		t.Errorf("saved plan %s has no digest %s", b, want)
	}
}
