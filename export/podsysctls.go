// Package export renders a resolved profile for other tools' configuration.
// PodSysctls: a Kubernetes pod's securityContext.sysctls.
package export

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/validate"
)

// KubeletSafeSysctls is the kubelet's allow-list of "safe" sysctls as of
// Kubernetes 1.32 (pkg/kubelet/sysctl/safe_sysctls.go): a pod may set these
// without any kubelet flag. Everything else a pod sets is "unsafe" and needs
// --allowed-unsafe-sysctls (allowedUnsafeSysctls in a KubeletConfiguration)
// on every node the pod may land on.
var KubeletSafeSysctls = []string{
	"kernel.shm_rmid_forced",
	"net.ipv4.ip_local_port_range",
	"net.ipv4.ip_local_reserved_ports",    // 1.27
	"net.ipv4.ip_unprivileged_port_start", // 1.22
	"net.ipv4.ping_group_range",
	"net.ipv4.tcp_fin_timeout",     // 1.29
	"net.ipv4.tcp_keepalive_intvl", // 1.29
	"net.ipv4.tcp_keepalive_probes",
	"net.ipv4.tcp_keepalive_time",
	"net.ipv4.tcp_rmem", // 1.32
	"net.ipv4.tcp_syncookies",
	"net.ipv4.tcp_wmem", // 1.32
}

// PodSysctl is one entry of securityContext.sysctls.
type PodSysctl struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	// Safe: on the kubelet's allow-list; otherwise the node's kubelet must
	// allow it explicitly.
	Safe bool `json:"safe"`
	// Op is the profile's op; at-least and at-most become the value itself,
	// since a pod's namespace starts from kernel defaults.
	Op string `json:"op"`
}

// PodSysctls is a profile rendered for a pod.
type PodSysctls struct {
	Profiles []string    `json:"profiles"`
	Sysctls  []PodSysctl `json:"sysctls"`
	// AllowedUnsafe is the value of --allowed-unsafe-sysctls the kubelet
	// needs for the unsafe entries ("" when all are safe).
	AllowedUnsafe string `json:"allowed_unsafe_sysctls"`
	// HostWide are the profile's keys a pod cannot set at all: they belong
	// to the node (the DaemonSet on the host network).
	HostWide []string `json:"host_wide"`
}

// NewPodSysctls keeps the namespaced keys of r (per the validate catalog),
// each marked safe or unsafe, and lists the host-wide ones apart.
func NewPodSysctls(r *profiles.Resolved) *PodSysctls {
	p := &PodSysctls{Profiles: r.Profiles, Sysctls: []PodSysctl{}, HostWide: []string{}}
	var unsafe []string
	for _, s := range r.Settings {
		name := s.Key.String()
		if validate.ScopeOf(s.Key) != validate.ScopeNetns {
			p.HostWide = append(p.HostWide, name)
			continue
		}
		safe := slices.Contains(KubeletSafeSysctls, name)
		if !safe {
			unsafe = append(unsafe, name)
		}
		op := string(s.Op)
		if op == "" {
			op = string(profiles.OpExact)
		}
		p.Sysctls = append(p.Sysctls, PodSysctl{Name: name, Value: s.Value.String(), Safe: safe, Op: op})
	}
	p.AllowedUnsafe = strings.Join(unsafe, ",")
	return p
}

// YAML renders the snippet to paste under a pod spec, with comments for the
// kubelet flag and the host-wide keys. Values are quoted: Kubernetes wants
// strings.
func (p *PodSysctls) YAML() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# tcptune export pod-sysctls %s\n", strings.Join(p.Profiles, " "))
	b.WriteString("# Paste under the pod's spec: a pod without hostNetwork has its own network namespace,\n")
	b.WriteString("# which starts from kernel defaults and never sees the node's values.\n")
	if p.AllowedUnsafe != "" {
		b.WriteString("# The unsafe sysctls are rejected unless every node's kubelet runs with\n")
		fmt.Fprintf(&b, "#   --allowed-unsafe-sysctls=%s\n", p.AllowedUnsafe)
		b.WriteString("# (allowedUnsafeSysctls in the KubeletConfiguration).\n")
	}
	if len(p.HostWide) > 0 {
		b.WriteString("# Host-wide, not settable per pod (tune the node, e.g. the tcptune DaemonSet):\n")
		for _, k := range p.HostWide {
			fmt.Fprintf(&b, "#   %s\n", k)
		}
	}
	if len(p.Sysctls) == 0 {
		b.WriteString("# (no namespaced keys in this profile)\n")
		b.WriteString("securityContext:\n  sysctls: []\n")
		return b.Bytes()
	}
	b.WriteString("securityContext:\n  sysctls:\n")
	for _, s := range p.Sysctls {
		tag := "safe"
		if !s.Safe {
			tag = "unsafe"
		}
		if s.Op != string(profiles.OpExact) {
			tag += ", profile op " + s.Op
		}
		fmt.Fprintf(&b, "  - name: %s\n    value: %s # %s\n", s.Name, strconv.Quote(s.Value), tag)
	}
	return b.Bytes()
}
