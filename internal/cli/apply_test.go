package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcptune/tcptune/internal/fakeroot"
)

// txDirs returns the flags that keep apply/rollback/status inside dir.
func txDirs(dir string) []string {
	return []string{
		"--sysctl-root", filepath.Join(dir, "proc"),
		"--state-dir", filepath.Join(dir, "state"),
		"--persist-dir", filepath.Join(dir, "etc/sysctl.d"),
	}
}

func persistFlags(dir string) []string {
	return []string{
		"--sysctl-d", filepath.Join(dir, "etc/sysctl.d") + "," + filepath.Join(dir, "usr/lib/sysctl.d"),
		"--sysctl-conf", filepath.Join(dir, "etc/sysctl.conf"),
	}
}

func writeFakeRoot(t *testing.T, root string, over map[string]string) {
	t.Helper()
	vals := map[string]string{}
	for k, v := range fakeroot.Stock() {
		if o, ok := over[k]; ok {
			v = o
		}
		vals[k] = v
	}
	if err := fakeroot.Write(root, vals); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(args, nil, &out, &errb)
	return code, out.String(), errb.String()
}

// TestApplyCLI: the documented flow on a fake root, with exact exit codes
// and the stable JSON shape.
func TestApplyCLI(t *testing.T) {
	dir := t.TempDir()
	writeFakeRoot(t, filepath.Join(dir, "proc"), map[string]string{"net.ipv4.ip_local_port_range": "32768 60999"})
	base := append(txDirs(dir), persistFlags(dir)...)
	somax := filepath.Join(dir, "proc/net/core/somaxconn")

	// dry run: plan printed, nothing written anywhere.
	code, out, errs := run(t, append([]string{"apply", "high-concurrency", "--dry-run"}, base...)...)
	if code != 0 || !strings.Contains(out, "dry run: nothing was written") {
		t.Fatalf("dry run: %d\n%s\n%s", code, out, errs)
	}
	for _, p := range []string{"state", "etc"} {
		if _, err := os.Stat(filepath.Join(dir, p)); !os.IsNotExist(err) {
			t.Errorf("dry run created %s", p)
		}
	}

	// apply: JSON, detailed exit code 2.
	code, out, errs = run(t, append([]string{"apply", "high-concurrency", "fail-fast", "-o", "json", "--detailed-exitcode"}, base...)...)
	if code != ExitChanges {
		t.Fatalf("apply exit %d, want 2\n%s\n%s", code, out, errs)
	}
	var res struct {
		Changed     bool   `json:"changed"`
		Failed      bool   `json:"failed"`
		Transaction string `json:"transaction"`
		Settings    []struct {
			Key, Before, After, Action string
		} `json:"settings"`
		Persisted struct {
			File         string            `json:"file"`
			OverriddenBy []json.RawMessage `json:"overridden_by"`
		} `json:"persisted"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if !res.Changed || res.Failed || res.Transaction == "" || len(res.Settings) != 16 || res.Persisted.File == "" || res.Persisted.OverriddenBy == nil {
		t.Errorf("json result %+v", res)
	}
	if b, _ := os.ReadFile(somax); string(b) != "65535\n" {
		t.Errorf("somaxconn %q after apply", b)
	}

	// again: nothing changed, exit 0 even with --detailed-exitcode.
	if code, out, errs = run(t, append([]string{"apply", "high-concurrency", "fail-fast", "--detailed-exitcode"}, base...)...); code != 0 || !strings.Contains(out, "nothing to do") {
		t.Errorf("second apply: %d\n%s\n%s", code, out, errs)
	}

	// status: in sync, then drift (exit 2).
	if code, out, errs = run(t, append([]string{"status"}, txDirs(dir)...)...); code != 0 {
		t.Errorf("status: %d\n%s\n%s", code, out, errs)
	}
	if err := os.WriteFile(somax, []byte("4096\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, _ = run(t, append([]string{"status"}, txDirs(dir)...)...); code != ExitChanges || !strings.Contains(out, "DRIFT") {
		t.Errorf("status after drift: %d\n%s", code, out)
	}
	if err := os.WriteFile(somax, []byte("65535\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// rollback: originals back, file gone; a second rollback is an error.
	if code, out, errs = run(t, append([]string{"rollback"}, txDirs(dir)...)...); code != 0 {
		t.Fatalf("rollback: %d\n%s\n%s", code, out, errs)
	}
	if b, _ := os.ReadFile(somax); string(b) != "4096\n" {
		t.Errorf("somaxconn %q after rollback", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "etc/sysctl.d/90-tcptune.conf")); !os.IsNotExist(err) {
		t.Error("rollback left the persisted file")
	}
	code, _, errs = run(t, append([]string{"rollback"}, txDirs(dir)...)...)
	if code != ExitError || !strings.Contains(errs, "tcptune: error: no transaction to roll back") || !strings.Contains(errs, "tcptune: hint:") {
		t.Errorf("second rollback: %d %s", code, errs)
	}
}

// TestApplyCLIRefusesInjection: a profile value with a line break is
// refused with file and line, exit 1, nothing written.
func TestApplyCLIRefusesInjection(t *testing.T) {
	dir := t.TempDir()
	writeFakeRoot(t, filepath.Join(dir, "proc"), nil)
	p := filepath.Join(dir, "evil.yaml")
	os.WriteFile(p, []byte("name: evil\nsettings:\n  net.core.somaxconn: \"1024\\nkernel.core_pattern = |/tmp/x\"\n"), 0o644)
	code, _, errs := run(t, append([]string{"apply", p}, append(txDirs(dir), persistFlags(dir)...)...)...)
	if code != ExitError || !strings.Contains(errs, "evil.yaml:3") {
		t.Errorf("exit %d, stderr %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "etc")); !os.IsNotExist(err) {
		t.Error("persist dir created by a refused apply")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "proc/net/core/somaxconn")); string(b) != "4096\n" {
		t.Errorf("somaxconn written: %q", b)
	}
}
