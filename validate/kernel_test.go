package validate

import (
	"testing"

	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/sysctl"
)

// hostFiles is a small fake /proc/sys of the initial namespace.
func hostFiles() map[string]string {
	return map[string]string{
		"net.core.somaxconn":                        "4096",
		"net.core.netdev_max_backlog":               "1000",
		"net.core.rmem_max":                         "212992",
		"net.ipv4.tcp_syncookies":                   "1",
		"net.ipv4.tcp_ecn":                          "2",
		"net.ipv4.ip_local_port_range":              "32768\t60999",
		"net.ipv4.ip_unprivileged_port_start":       "2000",
		"net.ipv4.ip_local_reserved_ports":          "",
		"net.ipv4.tcp_congestion_control":           "cubic",
		"net.ipv4.tcp_available_congestion_control": "reno cubic",
		"fs.file-max":                               "9223372036854775807",
	}
}

func TestValidateKernel(t *testing.T) {
	const (
		somax   = "net.core.somaxconn"
		backlog = "net.core.netdev_max_backlog"
		rmemMax = "net.core.rmem_max"
		linear  = "net.ipv4.tcp_syn_linear_timeouts"
		pr      = "net.ipv4.ip_local_port_range"
		cc      = "net.ipv4.tcp_congestion_control"
		fileMax = "fs.file-max"
	)
	tests := []struct {
		name     string
		netns    netns.Kind
		readOnly []string
		lines    []string
		want     []brief
		contains []string
	}{
		{"present and writable", netns.Initial, nil, []string{somax + ": 8192", backlog + ": 4096"}, nil, nil},
		{"read-only key", netns.Initial, []string{somax}, []string{somax + ": 8192"},
			[]brief{keyAt(SevError, somax, 1)}, []string{"read-only here"}},
		{"missing key, with the version that added it", netns.Initial, nil, []string{linear + ": 4"},
			[]brief{keyAt(SevError, linear, 1)}, []string{"not present on this kernel", "added in Linux 6.5"}},
		{"key outside the catalog but on the kernel", netns.Initial, nil, []string{"net.ipv4.tcp_ecn: 1"},
			[]brief{keyAt(SevWarning, "net.ipv4.tcp_ecn", 1)}, []string{"not in tcptune's catalog; its value is not checked"}},
		{"unknown key, suggestion from the kernel's keys", netns.Initial, nil, []string{"net.ipv4.tcp_ecm: 1"},
			[]brief{keyAt(SevError, "net.ipv4.tcp_ecm", 1)}, []string{"did you mean net.ipv4.tcp_ecn or net.ipv4.tcp_mem?"}},
		{"live unprivileged start feeds the port range rule", netns.Initial, nil, []string{pr + ": 1501 60000"},
			[]brief{valAt(SevError, pr, 1)}, []string{"ip_unprivileged_port_start 2000 (live value)"}},
		{"congestion control not available", netns.Initial, nil, []string{cc + ": bbr"},
			[]brief{valAt(SevWarning, cc, 1)}, []string{`"bbr" is not among this kernel's available algorithms (reno cubic)`}},
		{"congestion control available", netns.Initial, nil, []string{cc + ": reno"}, nil, nil},
		{"child netns: absent global key is a note", netns.Child, nil, []string{"net.core.netdev_budget: 600"},
			[]brief{keyAt(SevNote, "net.core.netdev_budget", 1)}, []string{"host-wide key, not settable from this network namespace"}},
		{"child netns: visible global keys are notes too", netns.Child, nil, []string{rmemMax + ": 16777216", fileMax + ": 1000000"},
			[]brief{keyAt(SevNote, rmemMax, 1), keyAt(SevNote, fileMax, 2)}, []string{"host-wide"}},
		{"child netns: namespaced key still checked", netns.Child, nil, []string{linear + ": 4"},
			[]brief{keyAt(SevError, linear, 1)}, []string{"not present"}},
		{"initial netns: missing global key is an error", netns.Initial, nil, []string{"net.core.netdev_budget: 600"},
			[]brief{keyAt(SevError, "net.core.netdev_budget", 1)}, []string{"not present on this kernel"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := fakeKernel(t, tt.netns, hostFiles(), tt.readOnly...)
			ds := Validate(resolve(t, profile(tt.lines...)), k)
			if tt.want == nil {
				tt.want = []brief{}
			}
			check(t, ds, tt.want, tt.contains...)
		})
	}
}

// Without --kernel the same net.* key outside the catalog is a warning, as
// with --kernel when the kernel has it: every command gives one verdict, and
// the kernel judges the value on apply (read back).
func TestUnknownKeyWithoutKernel(t *testing.T) {
	ds := Validate(resolve(t, profile("net.ipv4.tcp_ecn: 1")), nil)
	check(t, ds, []brief{keyAt(SevWarning, "net.ipv4.tcp_ecn", 1)}, "not in tcptune's catalog")
}

// With --kernel a net.* key neither in the catalog nor on the kernel is an
// error, with a did-you-mean.
func TestUnknownKeyAbsentWithKernel(t *testing.T) {
	k := fakeKernel(t, netns.Initial, hostFiles())
	ds := Validate(resolve(t, profile("net.ipv4.tcp_tw_reuze: 1")), k)
	check(t, ds, []brief{keyAt(SevError, "net.ipv4.tcp_tw_reuze", 1)}, "not present on this kernel", "did you mean net.ipv4.tcp_tw_reuse?")
}

// A broken root is "could not check", not a verdict on the profile.
func TestKernelRootMissing(t *testing.T) {
	k := &Kernel{FS: sysctl.NewFS(t.TempDir() + "/nope"), Netns: netns.Initial}
	ds := Validate(resolve(t, profile("net.core.somaxconn: 8192")), k)
	check(t, ds, []brief{keyAt(SevWarning, "net.core.somaxconn", 1)}, "could not check the running kernel")
}
