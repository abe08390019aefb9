package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcptune/tcptune/apply"
	"github.com/tcptune/tcptune/internal/fakeroot"
	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/systemd"
)

func TestSystemdInstallUninstall(t *testing.T) {
	t.Setenv(envNoJournal, "1")
	dir := t.TempDir()
	units := filepath.Join(dir, "units")
	exe, _ := os.Executable()
	args := []string{"systemd", "install", "high-concurrency", "--unit-dir", units, "--binary", exe,
		"--state-dir", filepath.Join(dir, "state"), "--mode", "report", "--interval", "10s",
		"--textfile", filepath.Join(dir, "prom", "tcptune.prom"), "-o", "json"}
	code, out, errs := run(t, args...)
	if code != 0 {
		t.Fatalf("install exit %d: %s", code, errs)
	}
	var res installResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Enabled || len(res.Units) != 2 || len(res.Commands) == 0 {
		t.Errorf("install result = %+v; want changed, not enabled (no systemd here), commands to run", res)
	}
	b, err := os.ReadFile(filepath.Join(units, systemd.ReconcileUnit))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{" reconcile high-concurrency --mode report --interval 10s ", "WatchdogSec=30s", "Type=notify",
		"--textfile " + filepath.Join(dir, "prom", "tcptune.prom"), "-" + filepath.Join(dir, "prom")} {
		if !strings.Contains(string(b), want) {
			t.Errorf("reconcile unit lacks %q:\n%s", want, b)
		}
	}
	// Same arguments again: nothing changes.
	if _, out, _ := run(t, args...); !strings.Contains(out, `"changed": false`) {
		t.Errorf("second install: %s", out)
	}
	// An invalid profile writes nothing.
	other := filepath.Join(dir, "other")
	if code, _, _ := run(t, "systemd", "install", "nope", "--unit-dir", other, "--binary", exe); code != ExitError {
		t.Errorf("install of an unknown profile: exit %d", code)
	}
	if _, err := os.Stat(other); err == nil {
		t.Error("install of an unknown profile created the unit directory")
	}

	// Enabled by hand: uninstall removes the enablement link too.
	wants := filepath.Join(units, "multi-user.target.wants")
	os.MkdirAll(wants, 0o755)
	if err := os.Symlink(filepath.Join(units, systemd.ApplyUnit), filepath.Join(wants, systemd.ApplyUnit)); err != nil {
		t.Fatal(err)
	}
	code, out, errs = run(t, "systemd", "uninstall", "--unit-dir", units)
	if code != 0 || !strings.Contains(out, "systemctl daemon-reload") {
		t.Fatalf("uninstall exit %d: %s %s", code, out, errs)
	}
	left, _ := filepath.Glob(filepath.Join(units, "*", "tcptune-*"))
	left2, _ := filepath.Glob(filepath.Join(units, "tcptune-*"))
	if len(left)+len(left2) != 0 {
		t.Errorf("left after uninstall: %v %v", left, left2)
	}
	if _, out, _ := run(t, "systemd", "uninstall", "--unit-dir", units); !strings.Contains(out, "nothing to do") {
		t.Errorf("second uninstall: %s", out)
	}
}

// TestAuditApplyRollbackAndPersist drives the audit helpers apply and
// rollback call with the results of real transactions on a fake root, then
// reads the trail back through 'tcptune systemd audit'.
func TestAuditApplyRollbackAndPersist(t *testing.T) {
	t.Setenv(envNoJournal, "1")
	root := fakeroot.New(t, map[string]string{"net.ipv4.tcp_syncookies": "1", "net.ipv4.tcp_max_syn_backlog": "2048",
		"net.ipv4.tcp_synack_retries": "5", "net.core.somaxconn": "4096"})
	dir := t.TempDir()
	state, persist := filepath.Join(dir, "state"), filepath.Join(dir, "sysctl.d")
	g := &Globals{SysctlRoot: root, NetnsKind: "initial", Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
	r, err := g.Loader().Resolve("syn-flood")
	if err != nil {
		t.Fatal(err)
	}
	o := apply.Options{FS: g.FS(), Netns: netns.Initial, StateDir: state, PersistDir: persist,
		SearchDirs: []string{persist}, SysctlConf: filepath.Join(dir, "sysctl.conf")}
	res, err := apply.Apply(context.Background(), r, o)
	if err != nil {
		t.Fatal(err)
	}
	auditApply(g, state, res)
	rb, err := apply.Rollback(context.Background(), o, "")
	if err != nil {
		t.Fatal(err)
	}
	auditRollback(g, state, rb)
	if s := g.Stderr.(*bytes.Buffer).String(); s != "" {
		t.Errorf("audit warnings: %s", s)
	}

	code, out, errs := run(t, "systemd", "audit", "--state-dir", state, "--key", "net/core/somaxconn", "-o", "json")
	if code != 0 {
		t.Fatalf("audit exit %d: %s", code, errs)
	}
	var recs []systemd.Record
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, string(r.Action)+" "+r.Before+"->"+r.After)
		if r.Transaction == "" || r.Actor == "" {
			t.Errorf("record without transaction or actor: %+v", r)
		}
	}
	want := "apply 4096->65535|persist ->65535|rollback 65535->4096"
	if strings.Join(got, "|") != want {
		t.Errorf("somaxconn trail = %q, want %q", strings.Join(got, "|"), want)
	}
	// Text output, filtered by action.
	_, out, _ = run(t, "systemd", "audit", "--state-dir", state, "--action", "rollback")
	if !strings.Contains(out, "net.ipv4.tcp_max_syn_backlog") || strings.Contains(out, " apply ") {
		t.Errorf("audit --action rollback:\n%s", out)
	}
}
