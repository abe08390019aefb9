package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcptune/tcptune/doctor"
)

// TestDoctorSinceBootAfterApply: a real 'tcptune apply high-concurrency'
// (fake sysctl root, private state directory) after boot; 'doctor --once'
// on a proc tree whose overflows are counted since boot reads that state
// directory, names the change, does not blame or recommend the profile now
// in force; with the history out of reach (another --state-dir) it does.
func TestDoctorSinceBootAfterApply(t *testing.T) {
	dir := t.TempDir()
	writeFakeRoot(t, filepath.Join(dir, "proc"), map[string]string{"net.core.somaxconn": "4096", "net.ipv4.tcp_abort_on_overflow": "1"})
	if code, out, errs := run(t, append([]string{"apply", "high-concurrency"}, append(txDirs(dir), persistFlags(dir)...)...)...); code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errs)
	}
	// The proc tree: overflows since boot (the doctor's linux-6.18
	// fixture), booted an hour ago.
	root := filepath.Join(dir, "procfs")
	net := filepath.Join(root, "1", "task", "1", "net")
	if err := os.MkdirAll(net, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("1/task/1", filepath.Join(root, "thread-self")); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"netstat", "snmp", "sockstat", "softnet_stat"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "doctor", "testdata", "linux-6.18", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(net, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "stat"), fmt.Appendf(nil, "btime %d\n", time.Now().Add(-time.Hour).Unix()), 0o644); err != nil {
		t.Fatal(err)
	}
	doctorJSON := func(state string) (int, *doctor.Finding) {
		t.Helper()
		code, out, errs := run(t, "doctor", "--once", "--proc-root", root, "--sysctl-root", filepath.Join(dir, "proc"), "--state-dir", state, "-o", "json")
		conform(t, schemas(t), "doctor", "doctor --once after apply", out)
		var r doctor.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%v\n%s\n%s", err, out, errs)
		}
		for i := range r.Findings {
			if r.Findings[i].ID == "accept-queue-overflow" {
				return code, &r.Findings[i]
			}
		}
		t.Fatalf("no accept-queue-overflow:\n%s", out)
		return 0, nil
	}
	code, f := doctorJSON(filepath.Join(dir, "state"))
	if code != ExitChanges || f.Severity != doctor.Warning || len(f.ChangedDuring) == 0 || !f.Fix.AlreadyApplied {
		t.Errorf("exit %d finding %+v: want a warning naming the change, nothing to apply", code, f)
	}
	if !strings.Contains(f.Explanation, "net.core.somaxconn from 4096 to 65535") || !strings.Contains(f.Explanation, "--interval") {
		t.Errorf("explanation %q", f.Explanation)
	}
	_, f = doctorJSON(filepath.Join(dir, "no-state"))
	if f.Severity != doctor.Critical || len(f.ChangedDuring) != 0 {
		t.Errorf("without history: %+v", f)
	}
}
