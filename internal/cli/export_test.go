package cli

import (
	"strings"
	"testing"
)

// TestExportPodSysctlsCLI: text and JSON output of the documented command;
// the JSON matches docs/schema/export-pod-sysctls.json.
func TestExportPodSysctlsCLI(t *testing.T) {
	code, out, errs := run(t, "export", "pod-sysctls", "high-concurrency")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, s := range []string{"securityContext:\n  sysctls:\n", "- name: net.core.somaxconn\n    value: \"65535\" # unsafe",
		"--allowed-unsafe-sysctls=net.core.somaxconn,", "#   net.core.netdev_max_backlog\n"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(out, "name: net.core.netdev_max_backlog") {
		t.Errorf("host-wide key offered as a pod sysctl:\n%s", out)
	}
	code, out, errs = run(t, "export", "pod-sysctls", "fail-fast", "-o", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	conform(t, schemas(t), "export-pod-sysctls", "export pod-sysctls -o json", out)
	if code, _, errs = run(t, "export", "pod-sysctls", "no-such-profile"); code != ExitError || !strings.Contains(errs, "no-such-profile") {
		t.Errorf("unknown profile: exit %d, %s", code, errs)
	}
}
