package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

// confLines returns the "key = value" lines of a sysctl.d file, normalised
// (dotted keys, '-' dropped, whitespace collapsed), sorted.
func confLines(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' || l[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		key, err := sysctl.ParseKey(strings.TrimPrefix(strings.TrimSpace(k), "-"))
		if err != nil {
			continue
		}
		out = append(out, key.String()+" = "+string(sysctl.Normalize(v)))
	}
	sort.Strings(out)
	return out
}

// TestImportRoundTrip: sysctl.d files -> tcptune import -> a profile that
// validates -> apply on a fake root -> the persisted file holds the same
// settings as the files did (the last assignment of each key winning, as at
// boot), globs and keys outside the policy reported and left out.
func TestImportRoundTrip(t *testing.T) {
	dir := t.TempDir()
	writeFakeRoot(t, filepath.Join(dir, "proc"), map[string]string{})
	in := filepath.Join(dir, "in")
	if err := os.MkdirAll(in, 0o755); err != nil {
		t.Fatal(err)
	}
	a := filepath.Join(in, "10-net.conf")
	b := filepath.Join(in, "20-more.conf")
	os.WriteFile(a, []byte("# Bigger accept queue for the API\nnet.core.somaxconn = 16384\nnet.ipv4.tcp_syncookies=1\n\nnet.ipv4.ip_local_port_range = 10240\t65535\n"), 0o644)
	os.WriteFile(b, []byte("; later file wins\nnet.core.somaxconn = 32768\n-net.ipv4.tcp_fin_timeout = 20\nnet.ipv4.conf.*.rp_filter = 2\nkernel.pid_max = 4194304\nthis is not an assignment\n"), 0o644)
	out := filepath.Join(dir, "imported.yaml")
	code, stdout, stderr := run(t, "import", "--name", "legacy", "--write", out, a, b)
	if code != 0 {
		t.Fatalf("import exit %d: %s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("--write also printed: %s", stdout)
	}
	for _, want := range []string{
		b + ":4: net.ipv4.conf.*.rp_filter: a glob is not importable",
		b + ":5: kernel.pid_max: outside what tcptune writes",
		b + ":6: not a key = value line",
		b + ":2: net.core.somaxconn: also set at " + a + ":2",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("import stderr lacks %q:\n%s", want, stderr)
		}
	}
	p, err := profiles.ReadFile(out, profiles.OriginFile)
	if err != nil {
		t.Fatalf("imported profile does not load: %v", err)
	}
	reasons := map[string]string{}
	ignore := map[string]bool{}
	for _, s := range p.Settings {
		reasons[s.Key.String()], ignore[s.Key.String()] = s.Reason, s.IgnoreFailure
	}
	if p.Name != "legacy" || reasons["net.core.somaxconn"] != "later file wins" || !ignore["net.ipv4.tcp_fin_timeout"] || ignore["net.core.somaxconn"] {
		t.Errorf("imported profile: name %q, reasons %v, ignore-failure %v", p.Name, reasons, ignore)
	}
	if code, _, errs := run(t, "validate", out); code != 0 {
		t.Fatalf("imported profile does not validate: %s", errs)
	}

	base := append(txDirs(dir), persistFlags(dir)...)
	if code, _, errs := run(t, append([]string{"apply", "-f", out}, base...)...); code != 0 {
		t.Fatalf("apply -f imported: exit %d: %s", code, errs)
	}
	persisted, err := os.ReadFile(filepath.Join(dir, "etc/sysctl.d/90-tcptune.conf"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"net.core.somaxconn = 32768", "net.ipv4.ip_local_port_range = 10240 65535",
		"net.ipv4.tcp_fin_timeout = 20", "net.ipv4.tcp_syncookies = 1",
	}
	if got := confLines(t, persisted); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("persisted settings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Standard input, printed.
	var o, e bytes.Buffer
	if code := Run([]string{"import", "-"}, strings.NewReader("net.core.somaxconn = 1024\n"), &o, &e); code != 0 ||
		!strings.Contains(o.String(), "name: imported") || !strings.Contains(o.String(), `value: "1024"`) {
		t.Errorf("import -: exit %d\n%s\n%s", code, o.String(), e.String())
	}
	// Values the kernel would read differently do not make a profile.
	bad := filepath.Join(in, "30-bad.conf")
	os.WriteFile(bad, []byte("net.core.somaxconn = 010\n"), 0o644)
	if code, _, errs := run(t, "import", bad); code != 1 || !strings.Contains(errs, "octal") {
		t.Errorf("import of 010: exit %d: %s", code, errs)
	}
	// A sysctl.conf where a profile is expected points to import.
	if code, _, errs := run(t, "validate", "-f", a); code != 1 || !strings.Contains(errs, "tcptune import "+a) {
		t.Errorf("sysctl.conf as a profile: exit %d: %s", code, errs)
	}
}

// TestTunedConflictCommands: with tuned active (temp dirs) and setting a
// key the profile sets, diff and apply say so, and doctor lists tuned's
// network keys.
func TestTunedConflictCommands(t *testing.T) {
	t.Setenv(envNoJournal, "1")
	dir := t.TempDir()
	writeFakeRoot(t, filepath.Join(dir, "proc"), map[string]string{})
	etc, lib := filepath.Join(dir, "tuned"), filepath.Join(dir, "tunedlib")
	os.MkdirAll(filepath.Join(lib, "net-heavy"), 0o755)
	os.MkdirAll(etc, 0o755)
	os.WriteFile(filepath.Join(etc, "active_profile"), []byte("net-heavy\n"), 0o644)
	os.WriteFile(filepath.Join(lib, "net-heavy", "tuned.conf"), []byte("[main]\nsummary=x\n[sysctl]\nnet.core.somaxconn=2048\nkernel.sched_min_granularity_ns=10000000\n"), 0o644)
	tf := []string{"--tuned-dir", etc, "--tuned-lib-dir", lib, "--tuned-run-dir", filepath.Join(dir, "run")}
	base := append(append(txDirs(dir), persistFlags(dir)...), tf...)
	for name, args := range map[string][]string{
		"diff":  append([]string{"diff", "high-concurrency", "--sysctl-root", filepath.Join(dir, "proc")}, tf...),
		"apply": append([]string{"apply", "high-concurrency", "--dry-run"}, base...),
	} {
		_, _, errs := run(t, args...)
		if !strings.Contains(errs, `tuned profile "net-heavy" also sets it (net.core.somaxconn = 2048 at `) || !strings.Contains(errs, "reapply_sysctl = 1") {
			t.Errorf("%s: no tuned conflict in:\n%s", name, errs)
		}
	}
	_, _, errs := run(t, append([]string{"doctor", "--once"}, tf...)...)
	if !strings.Contains(errs, `tuned profile "net-heavy" sets keys`) || !strings.Contains(errs, "net.core.somaxconn = 2048") || strings.Contains(errs, "sched_min") {
		t.Errorf("doctor: no tuned report in:\n%s", errs)
	}
}
