package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tcptune/tcptune/internal/nstest"
)

// TestApplyDryRunRestartListKernel: in a private network namespace (real
// /proc/sys, real inet_diag, real fd tables), `apply --dry-run` of a profile
// that raises somaxconn lists a listener capped below it and names its
// owner, this process, through the owner lookup the CLI injects.
func TestApplyDryRunRestartListKernel(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	port := smallListener(t, 8, false)
	dir := t.TempDir()
	code, out, errb := run(t, "apply", "high-concurrency", "--dry-run", "-o", "json",
		"--state-dir", filepath.Join(dir, "state"), "--persist-dir", filepath.Join(dir, "etc/sysctl.d"),
		"--sysctl-d", filepath.Join(dir, "etc/sysctl.d"), "--sysctl-conf", filepath.Join(dir, "etc/sysctl.conf"))
	if code != ExitOK {
		t.Fatalf("apply --dry-run: exit %d\n%s%s", code, out, errb)
	}
	var res struct {
		Restart []struct {
			Addr     string `json:"addr"`
			Backlog  uint32 `json:"backlog"`
			PID      int    `json:"pid"`
			Process  string `json:"process"`
			NewLimit uint32 `json:"new_limit"`
		} `json:"restart"`
		RestartError string `json:"restart_error"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("apply output is not JSON: %v\n%s", err, out)
	}
	comm, _ := os.ReadFile("/proc/self/comm")
	want := "127.0.0.1:" + strconv.Itoa(port)
	for _, r := range res.Restart {
		if r.Addr != want {
			continue
		}
		if r.Backlog != 8 || r.NewLimit != 65535 || r.PID != os.Getpid() || r.Process != strings.TrimSpace(string(comm)) {
			t.Errorf("restart entry %+v; want backlog 8, new limit 65535, pid %d (%s)", r, os.Getpid(), comm)
		}
		return
	}
	t.Errorf("listener %s not in the restart list %+v (error %q)", want, res.Restart, res.RestartError)
}
