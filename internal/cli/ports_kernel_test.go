package cli

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tcptune/tcptune/internal/nstest"
)

// TestKernelPortRangeWarnings: in a private network namespace, a real
// listener on port 20000 and a real kubelet-like listener on 10250; a
// profile whose new ip_local_port_range covers them makes validate
// --kernel, diff and apply warn, naming the listener and giving the
// ip_local_reserved_ports line.
func TestKernelPortRangeWarnings(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	nstest.Guard(t)
	t.Setenv(envNoJournal, "1")
	for _, addr := range []string{"127.0.0.1:20000", "127.0.0.1:10250"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
	}
	dir := t.TempDir()
	prof := filepath.Join(dir, "wide.yaml")
	if err := os.WriteFile(prof, []byte("name: wide\nsettings:\n  net.ipv4.ip_local_port_range: \"10240 65535\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tx := []string{"--state-dir", filepath.Join(dir, "state"), "--persist-dir", filepath.Join(dir, "sysctl.d"),
		"--sysctl-d", filepath.Join(dir, "sysctl.d"), "--sysctl-conf", filepath.Join(dir, "sysctl.conf")}
	me := "[" + strconv.Itoa(os.Getpid()) + "] on 127.0.0.1:20000"
	for name, args := range map[string][]string{
		"validate --kernel": {"validate", "--kernel", prof},
		"diff":              {"diff", prof},
		"apply --dry-run":   append([]string{"apply", "--dry-run", prof}, tx...),
		"apply":             append([]string{"apply", "--no-persist", prof}, tx...),
	} {
		code, _, errs := run(t, args...)
		if code == ExitError {
			t.Errorf("%s: exit %d: %s", name, code, errs)
		}
		for _, want := range []string{"covers port 10250", "port 20000 (", me, `ip_local_reserved_ports: "10250,20000"`, "kubelet runs here", `"10250,20000,30000-32767"`} {
			if !strings.Contains(errs, want) {
				t.Errorf("%s: no %q in:\n%s", name, want, errs)
			}
		}
	}
	// With the ports reserved, no warning.
	if err := os.WriteFile(prof, []byte("name: wide\nsettings:\n  net.ipv4.ip_local_port_range: \"10240 65535\"\n  net.ipv4.ip_local_reserved_ports: \"10250,20000,30000-32767\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, errs := run(t, "validate", "--kernel", prof); strings.Contains(errs, "not in ip_local_reserved_ports") || strings.Contains(errs, "kubelet runs here") {
		t.Errorf("reserved ports still warned:\n%s", errs)
	}
}
