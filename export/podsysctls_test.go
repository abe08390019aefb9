package export

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

// TestPodSysctlsKubeletList checks every key against the kubelet's 1.32+
// allow-list as the Kubernetes documentation states it ("Using sysctls in a
// Kubernetes Cluster", safe set), and the host-wide keys against the
// catalog.
func TestPodSysctlsKubeletList(t *testing.T) {
	const safe, unsafe, host = "safe", "unsafe", "host-wide"
	table := []struct{ key, want string }{
		{"net.ipv4.ip_local_port_range", safe},
		{"net.ipv4.tcp_syncookies", safe},
		{"net.ipv4.ping_group_range", safe},
		{"net.ipv4.ip_unprivileged_port_start", safe},
		{"net.ipv4.ip_local_reserved_ports", safe},
		{"net.ipv4.tcp_keepalive_time", safe},
		{"net.ipv4.tcp_keepalive_intvl", safe},
		{"net.ipv4.tcp_keepalive_probes", safe},
		{"net.ipv4.tcp_fin_timeout", safe},
		{"net.ipv4.tcp_rmem", safe},
		{"net.ipv4.tcp_wmem", safe},
		{"net.core.somaxconn", unsafe},
		{"net.ipv4.tcp_max_syn_backlog", unsafe},
		{"net.ipv4.tcp_tw_reuse", unsafe},
		{"net.ipv4.tcp_syn_retries", unsafe},
		{"net.ipv4.tcp_synack_retries", unsafe},
		{"net.ipv4.tcp_abort_on_overflow", unsafe},
		{"net.ipv4.tcp_max_tw_buckets", unsafe},
		{"net.core.netdev_max_backlog", host},
		{"net.core.rmem_max", host},
		{"net.core.wmem_max", host},
		{"net.ipv4.tcp_mem", host},
		{"net.ipv4.tcp_max_orphans", host},
		{"fs.file-max", host},
	}
	r := &profiles.Resolved{Profiles: []string{"t"}}
	for _, c := range table {
		r.Settings = append(r.Settings, profiles.Setting{Key: sysctl.MustKey(c.key), Value: "1", Op: profiles.OpExact})
	}
	p := NewPodSysctls(r)
	got := map[string]string{}
	for _, s := range p.Sysctls {
		got[s.Name] = unsafe
		if s.Safe {
			got[s.Name] = safe
		}
	}
	for _, k := range p.HostWide {
		got[k] = host
	}
	var wantUnsafe []string
	for _, c := range table {
		if got[c.key] != c.want {
			t.Errorf("%s: %q, want %q", c.key, got[c.key], c.want)
		}
		if c.want == unsafe {
			wantUnsafe = append(wantUnsafe, c.key)
		}
	}
	if p.AllowedUnsafe != strings.Join(wantUnsafe, ",") {
		t.Errorf("allowed unsafe = %q, want %q", p.AllowedUnsafe, strings.Join(wantUnsafe, ","))
	}
}

// TestPodSysctlsYAML: the snippet parses as a securityContext with string
// values, names the kubelet flag, and lists host-wide keys only in comments.
func TestPodSysctlsYAML(t *testing.T) {
	r := &profiles.Resolved{Profiles: []string{"p"}, Settings: []profiles.Setting{
		{Key: sysctl.MustKey("net.core.somaxconn"), Value: "65535", Op: profiles.OpAtLeast},
		{Key: sysctl.MustKey("net.ipv4.ip_local_port_range"), Value: "10240 65535", Op: profiles.OpExact},
		{Key: sysctl.MustKey("net.core.netdev_max_backlog"), Value: "16384", Op: profiles.OpAtLeast},
	}}
	out := NewPodSysctls(r).YAML()
	var doc struct {
		SecurityContext struct {
			Sysctls []struct{ Name, Value string } `yaml:"sysctls"`
		} `yaml:"securityContext"`
	}
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := []struct{ Name, Value string }{{"net.core.somaxconn", "65535"}, {"net.ipv4.ip_local_port_range", "10240 65535"}}
	if d := cmp.Diff(want, doc.SecurityContext.Sysctls); d != "" {
		t.Errorf("sysctls (-want +got):\n%s\n%s", d, out)
	}
	for _, s := range []string{"--allowed-unsafe-sysctls=net.core.somaxconn\n", "#   net.core.netdev_max_backlog\n", "# unsafe, profile op at-least", "# safe\n"} {
		if !strings.Contains(string(out), s) {
			t.Errorf("snippet lacks %q:\n%s", s, out)
		}
	}
}
