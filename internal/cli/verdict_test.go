package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcptune/tcptune/internal/fakeroot"
)

// verdictProfiles are judged by every command; valid says whether the
// profile may be written, warn is text every command that prints warnings
// must show.
var verdictProfiles = []struct {
	name  string
	body  string
	valid bool
	warn  string
}{
	{"in-catalog", "net.core.somaxconn: 8192", true, ""},
	{"net-outside-catalog", "net.ipv4.tcp_ecn: 1", true, "not in tcptune's catalog"},
	{"per-interface", "net.ipv4.conf.all.rp_filter: 2", true, ""},
	{"slow-start", "net.ipv4.tcp_slow_start_after_idle: 0", true, ""},
	{"fs-nr-open", "fs.nr_open: 2097152", true, ""},
	{"kernel-key", `kernel.core_pattern: "|/tmp/x %p"`, false, ""},
	{"vm-key", "vm.swappiness: 10", false, ""},
	{"out-of-bounds", "net.core.somaxconn: -1", false, ""},
	{"octal", `net.core.somaxconn: "010"`, false, ""},
	{"plus-sign", `net.core.somaxconn: "+15"`, false, ""},
	{"sysctl-conf-line", "", false, ""}, // body replaced below: not YAML
}

// verdictRoot is a fake /proc/sys where every key of verdictProfiles
// exists, so only the profile decides.
func verdictRoot(t *testing.T, dir string) map[string]string {
	t.Helper()
	vals := fakeroot.Stock()
	for k, v := range map[string]string{
		"net.ipv4.tcp_ecn": "2", "net.ipv4.conf.all.rp_filter": "0", "net.ipv4.tcp_slow_start_after_idle": "1",
		"fs.nr_open": "1048576", "kernel.core_pattern": "core", "vm.swappiness": "60",
	} {
		vals[k] = v
	}
	if err := fakeroot.Write(filepath.Join(dir, "proc"), vals); err != nil {
		t.Fatal(err)
	}
	return vals
}

// TestOneVerdictEveryCommand: validate, validate --kernel, diff, apply
// --dry-run, apply, reconcile, systemd install, export and lab judge each
// profile alike: refused by all (exit 1, nothing written) or accepted by
// all, with the same warnings.
func TestOneVerdictEveryCommand(t *testing.T) {
	t.Setenv(envNoJournal, "1")
	for _, p := range verdictProfiles {
		t.Run(p.name, func(t *testing.T) {
			body := "name: verdict\nsettings:\n  " + p.body + "\n"
			if p.name == "sysctl-conf-line" {
				body = "net.core.somaxconn = 65535\n"
			}
			judgeEverywhere(t, body, p.valid, p.warn)
		})
	}
}

// TestRefusedKeyCorpus: keys outside the network stack, paths that climb
// out of it and look-alikes of allowed names are refused by every command,
// and nothing is written on the fake root.
func TestRefusedKeyCorpus(t *testing.T) {
	t.Setenv(envNoJournal, "1")
	corpus := []string{
		`kernel.core_pattern: "|/tmp/x %p"`,
		`kernel.modprobe: /tmp/x`,
		`kernel/core_pattern: "|/tmp/x"`,
		`vm.swappiness: 10`,
		`vm.overcommit_memory: 1`,
		`fs.suid_dumpable: 2`,
		`"net/../kernel/core_pattern": "|/tmp/x"`,
		`"net/core/../../kernel/core_pattern": "|/tmp/x"`,
		`"net.core.somaxconn/../../../kernel.core_pattern": x`,
		`"/proc/sys/kernel/core_pattern": x`,
		`"NET.core.somaxconn": 1`,
		"\"n\u0435t.core.somaxconn\": 1",      // Cyrillic e
		"\"net\u2024core\u2024somaxconn\": 1", // one dot leader
		"\"net.core.somaxconn\u200b\": 1",     // zero-width space
		"\"\uff4eet.core.somaxconn\": 1",      // fullwidth n
		`"fs.file-max.": 1`,
		`"fs.nr_open/../../kernel.core_pattern": x`,
	}
	for i, line := range corpus {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			judgeEverywhere(t, "name: verdict\nsettings:\n  "+line+"\n", false, "")
		})
	}
}

// judgeEverywhere runs every command that loads profiles over body on a
// fresh fake root and checks one verdict; a refused profile must leave the
// root, the persisted file and the unit directory untouched.
func judgeEverywhere(t *testing.T, body string, valid bool, warn string) {
	t.Helper()
	p := struct {
		valid bool
		warn  string
	}{valid, warn}
	{
		{
			dir := t.TempDir()
			vals := verdictRoot(t, dir)
			file := filepath.Join(dir, "prof.yaml")
			if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			tx := append(txDirs(dir), persistFlags(dir)...)
			exe, _ := os.Executable()
			cmds := map[string][]string{
				"validate":        {"validate", file},
				"validate-kernel": {"validate", "--kernel", "--sysctl-root", filepath.Join(dir, "proc"), file},
				"diff":            {"diff", "--sysctl-root", filepath.Join(dir, "proc"), file},
				"apply-dry-run":   append([]string{"apply", "--dry-run", file}, tx...),
				"apply":           append([]string{"apply", "-f", file}, tx...),
				"reconcile":       append([]string{"reconcile", file, "--mode", "report", "--interval", "100ms"}, tx...),
				"systemd-install": {"systemd", "install", file, "--unit-dir", filepath.Join(dir, "units"), "--binary", exe, "--state-dir", filepath.Join(dir, "state")},
				"export":          {"export", "pod-sysctls", file},
			}
			if !p.valid && extBuilt {
				// The lab refuses before it makes a namespace; a valid
				// profile would start a real lab run (make lab covers it).
				// Only the tcptune-ext build has the labs (ext.go).
				cmds["lab"] = []string{"lab", "run", "slow-failure", "--profile", file}
			}
			for name, args := range cmds {
				ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
				var out, errb bytes.Buffer
				code := RunContext(ctx, args, nil, &out, &errb)
				cancel()
				if got := code != ExitError; got != p.valid {
					t.Errorf("%s: exit %d, valid=%v; want valid=%v\nstdout: %s\nstderr: %s", name, code, got, p.valid, out.String(), errb.String())
				}
				if p.warn != "" && !strings.Contains(out.String()+errb.String(), p.warn) {
					t.Errorf("%s: no warning %q\nstderr: %s", name, p.warn, errb.String())
				}
			}
			if p.valid {
				return
			}
			if t.Failed() {
				return
			}
			// Nothing written by any command: the fake root as it was, no
			// persisted file, no unit files.
			for k, v := range vals {
				key := filepath.Join(dir, "proc", strings.ReplaceAll(k, ".", "/"))
				b, err := os.ReadFile(key)
				if err != nil || strings.TrimSpace(string(b)) != strings.Join(strings.Fields(v), " ") && string(b) != v+"\n" {
					t.Errorf("%s changed to %q (%v), want %q", k, b, err, v)
				}
			}
			for _, f := range []string{"etc/sysctl.d/90-tcptune.conf", "units"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
					t.Errorf("%s written for a refused profile", f)
				}
			}
		}
	}
}

// TestShadowReportedByEveryCommand: a user profile named like a built-in is
// reported by every command that loads it.
func TestShadowReportedByEveryCommand(t *testing.T) {
	t.Setenv(envNoJournal, "1")
	dir := t.TempDir()
	verdictRoot(t, dir)
	pd := filepath.Join(dir, "profiles.d")
	if err := os.MkdirAll(pd, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pd, "high-concurrency.yaml"), []byte("settings:\n  net.core.somaxconn: 8192\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tx := append(txDirs(dir), persistFlags(dir)...)
	pf := []string{"--profile-dir", pd}
	for name, args := range map[string][]string{
		"validate":      {"validate", "high-concurrency"},
		"show":          {"show", "high-concurrency"},
		"diff":          {"diff", "high-concurrency", "--sysctl-root", filepath.Join(dir, "proc")},
		"apply-dry-run": append([]string{"apply", "--dry-run", "high-concurrency"}, tx...),
		"reconcile":     append([]string{"reconcile", "high-concurrency", "--mode", "report", "--interval", "100ms"}, tx...),
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		var out, errb bytes.Buffer
		code := RunContext(ctx, append(args, pf...), nil, &out, &errb)
		cancel()
		if code == ExitError || !strings.Contains(errb.String(), "shadows the built-in profile of the same name (builtin/high-concurrency.yaml)") {
			t.Errorf("%s: exit %d, stderr:\n%s", name, code, errb.String())
		}
	}
}

// TestStrictPermsAsRoot: as root, a profile others could change is refused
// by the commands with the path and the fix; the same file on a read-only
// mount (a Kubernetes ConfigMap volume shows mode 0777) is accepted. The
// mount is a tmpfs in a private mount namespace (unshare -m).
func TestStrictPermsAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the ownership check applies when tcptune runs as root")
	}
	dir := t.TempDir()
	verdictRoot(t, dir)
	pd := filepath.Join(dir, "profiles.d")
	os.MkdirAll(pd, 0o755)
	prof := filepath.Join(pd, "web.yaml")
	os.WriteFile(prof, []byte("settings:\n  net.core.somaxconn: 8192\n"), 0o644)
	os.Chmod(prof, 0o664)
	for _, args := range [][]string{
		{"validate", "web"},
		{"diff", "web", "--sysctl-root", filepath.Join(dir, "proc")},
		append([]string{"apply", "web"}, append(txDirs(dir), persistFlags(dir)...)...),
	} {
		code, _, errs := run(t, append(args, "--profile-dir", pd)...)
		if code != ExitError || !strings.Contains(errs, prof+" is writable by group or others (mode 0664)") || !strings.Contains(errs, "chmod go-w "+prof) {
			t.Errorf("%v: exit %d: %s", args, code, errs)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "etc/sysctl.d/90-tcptune.conf")); err == nil {
		t.Error("apply wrote the persisted file for a refused profile")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare not installed")
	}
	bin, err := exec.LookPath("tcptune") // testscript.Main put the test binary there
	if err != nil {
		t.Fatal(err)
	}
	ro := filepath.Join(dir, "ro")
	os.MkdirAll(ro, 0o755)
	script := `set -e
mount -t tmpfs -o mode=0777 tmpfs "$1"
printf 'settings:\n  net.core.somaxconn: 8192\n' > "$1/web.yaml"
chmod 0666 "$1/web.yaml"
if "$2" validate web --profile-dir "$1"; then echo "writable 0777 mount accepted"; exit 3; fi
mount -o remount,ro "$1"
exec "$2" validate web --profile-dir "$1"`
	out, err := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", ro, bin).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "web: valid") {
		t.Errorf("read-only mount: %v\n%s", err, out)
	}
}
