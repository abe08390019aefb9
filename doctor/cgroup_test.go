package doctor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOwnerFromCgroup(t *testing.T) {
	const id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, c := range []struct{ path, kind, name, container string }{
		// kubelet with the systemd cgroup driver: the pod UID's dashes are
		// underscores in the slice name.
		{"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1b4e2a9c_5f3d_4c2b_9e8a_0a1b2c3d4e5f.slice/cri-containerd-" + id + ".scope",
			"pod", "1b4e2a9c-5f3d-4c2b-9e8a-0a1b2c3d4e5f", "containerd:0123456789ab"},
		// cgroupfs driver.
		{"/kubepods/burstable/pod1b4e2a9c-5f3d-4c2b-9e8a-0a1b2c3d4e5f/" + id,
			"pod", "1b4e2a9c-5f3d-4c2b-9e8a-0a1b2c3d4e5f", "container:0123456789ab"},
		{"/kubepods.slice/kubepods-pod1b4e2a9c_5f3d_4c2b_9e8a_0a1b2c3d4e5f.slice/crio-" + id + ".scope",
			"pod", "1b4e2a9c-5f3d-4c2b-9e8a-0a1b2c3d4e5f", "crio:0123456789ab"},
		{"/system.slice/docker-" + id + ".scope", "container", "docker:0123456789ab", ""},
		{"/docker/" + id, "container", "docker:0123456789ab", ""},
		{"/machine.slice/libpod-" + id + ".scope/container", "container", "podman:0123456789ab", ""},
		{"/machine.slice/libpod-" + id + ".scope", "container", "podman:0123456789ab", ""},
		{`/machine.slice/machine-web\x2d1.scope/payload`, "machine", "web-1", ""},
		{"/machine.slice/machine-web.scope", "machine", "web", ""},
		{"/system.slice/nginx.service", "unit", "nginx.service", ""},
		{"/user.slice/user-0.slice/session-3.scope", "", "", ""},
		{"/", "", "", ""},
	} {
		kind, name, ctr := ownerFromCgroup(c.path)
		if kind != c.kind || name != c.name || ctr != c.container {
			t.Errorf("ownerFromCgroup(%q) = %q %q %q, want %q %q %q", c.path, kind, name, ctr, c.kind, c.name, c.container)
		}
	}
}

// TestNamespaceOwner reads cgroup files of a fixture proc tree: the pod's
// process wins over a lower PID in a plain unit.
func TestNamespaceOwner(t *testing.T) {
	proc := t.TempDir()
	write := func(pid, comm, cgroup string) {
		d := filepath.Join(proc, pid)
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "comm"), []byte(comm+"\n"), 0o644)
		os.WriteFile(filepath.Join(d, "cgroup"), []byte(cgroup), 0o644)
	}
	write("10", "sh", "0::/system.slice/foo.service\n")
	write("11", "pause", "0::/kubepods.slice/kubepods-pod1b4e2a9c_5f3d_4c2b_9e8a_0a1b2c3d4e5f.slice/cri-containerd-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope\n")
	o := namespaceOwner(proc, []int{10, 11}, nil)
	if o.Kind != "pod" || o.PID != 11 || o.Process != "pause" || !strings.Contains(o.String(), "pod 1b4e2a9c-") {
		t.Errorf("owner = %+v (%s)", o, o)
	}
	o = namespaceOwner(proc, []int{10}, []string{"web"})
	if o.Kind != "ip-netns" || o.Name != "web" || o.PID != 10 {
		t.Errorf("named namespace owner = %+v", o)
	}
	write("12", "nginx", "12:pids:/\n1:name=systemd:/system.slice/nginx.service\n0::/\n")
	o = namespaceOwner(proc, []int{12}, nil)
	if o.Kind != "unit" || o.Name != "nginx.service" || o.String() != "unit nginx.service, nginx[12]" {
		t.Errorf("v1 unit owner = %+v (%s)", o, o)
	}
}

// TestScopeFixes: in another namespace, a namespaced fix targets it and
// says host tuning does not reach it; a host-wide fix is left alone.
func TestScopeFixes(t *testing.T) {
	nr := NetnsReport{ID: "net:[7]", Path: "/proc/42/ns/net",
		Owner: NetnsOwner{Kind: "pod", Name: "uid-1", PID: 42, Process: "nginx"},
		Report: &Report{Findings: []Finding{
			{ID: "accept-queue-overflow", Fix: profileFix("high-concurrency", keySomaxconn)},
			{ID: "softnet-backlog-drops", Fix: profileFix("high-concurrency", keyNetdevMaxBacklog)},
			{ID: "x", Fix: keyFix(keyMaxTwBuckets, "262144", "at-least")},
		}}}
	scopeFixes(&nr)
	f := nr.Report.Findings
	if f[0].Fix.Command != "tcptune apply --netns /proc/42/ns/net high-concurrency" ||
		!strings.Contains(f[0].Fix.Note, "tuning the host does not reach it") ||
		!strings.Contains(f[0].Fix.Note, "securityContext.sysctls ('tcptune export pod-sysctls high-concurrency')") {
		t.Errorf("namespaced fix = %+v", f[0].Fix)
	}
	if f[1].Fix.Command != "tcptune apply high-concurrency" || f[1].Fix.Note != "" {
		t.Errorf("host-wide fix rewritten: %+v", f[1].Fix)
	}
	if !strings.Contains(f[2].Fix.Command, "tcptune apply --netns /proc/42/ns/net -f FILE") {
		t.Errorf("key fix = %+v", f[2].Fix)
	}
}
