package systemd

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/unit"
)

func testConfig(t *testing.T) UnitConfig {
	exe, err := os.Executable() // systemd-analyze checks ExecStart is executable
	if err != nil {
		t.Fatal(err)
	}
	return UnitConfig{
		Binary:        exe,
		Profiles:      []string{"high-concurrency", "/etc/tcptune/my 100% $HOME.yaml"},
		CommonArgs:    []string{"--profile-dir", "/etc/tcptune/profiles.d"},
		ApplyArgs:     []string{"--state-dir", "/var/lib/tcptune"},
		ReconcileArgs: []string{"--mode", "enforce", "--interval", "30s", "--textfile", "/var/lib/node_exporter/tcptune.prom"},
		Mode:          "enforce",
		Interval:      30 * time.Second,
		StateDir:      "/var/lib/tcptune",
		WritablePaths: []string{"/etc/sysctl.d", "/var/lib/node_exporter"},
	}
}

// verify runs `systemd-analyze verify` on files and returns its complaints.
// As root it runs in a private mount namespace with an empty /run/systemd,
// so the tool leaves no marker files on the host.
func verify(t *testing.T, files ...string) (string, error) {
	t.Helper()
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("TCPTUNE_REQUIRE_SYSTEMD_ANALYZE") == "1" {
			t.Fatal("systemd-analyze not found (apt-get install systemd)")
		}
		t.Skip("SKIPPED: systemd-analyze not installed (Debian package systemd)")
	}
	args := append([]string{sa, "verify", "--man=no"}, files...)
	var cmd *exec.Cmd
	if us, err := exec.LookPath("unshare"); err == nil && os.Geteuid() == 0 {
		cmd = exec.Command(us, "--mount", "--propagation", "private", "sh", "-c",
			`mount -t tmpfs tcptune-verify /run/systemd 2>/dev/null || true; exec "$@"`, "sh")
		cmd.Args = append(cmd.Args, args...)
	} else {
		cmd = exec.Command(args[0], args[1:]...)
	}
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_COLOR=0", "SYSTEMD_PAGER=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return strings.TrimSpace(out.String()), err
}

func TestUnitsPassSystemdAnalyzeVerify(t *testing.T) {
	units, err := Units(testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	paths, err := WriteUnits(t.TempDir(), units)
	if err != nil {
		t.Fatal(err)
	}
	out, err := verify(t, paths...)
	if err != nil || out != "" {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}

	// The check can fail: a unit with a bad Type= and an unknown key is
	// reported (systemd-analyze exits 0 for those, so output counts).
	bad := strings.Replace(string(units[ReconcileUnit]), "Type=notify", "Type=bogus", 1)
	badPath := filepath.Join(t.TempDir(), "tcptune-bad.service")
	if err := os.WriteFile(badPath, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := verify(t, badPath); err == nil && out == "" {
		t.Fatal("systemd-analyze verify accepted Type=bogus: the check above proves nothing")
	}
}

func options(t *testing.T, b []byte) map[string][]string {
	t.Helper()
	opts, err := unit.DeserializeOptions(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("generated unit does not parse: %v", err)
	}
	m := map[string][]string{}
	for _, o := range opts {
		m[o.Section+"."+o.Name] = append(m[o.Section+"."+o.Name], o.Value)
	}
	return m
}

func TestUnitContents(t *testing.T) {
	c := testConfig(t)
	units, err := Units(c)
	if err != nil {
		t.Fatal(err)
	}
	a := options(t, units[ApplyUnit])
	r := options(t, units[ReconcileUnit])
	want := []struct {
		m    map[string][]string
		key  string
		want string
	}{
		{a, "Service.Type", "oneshot"},
		{a, "Unit.After", "systemd-sysctl.service systemd-modules-load.service local-fs.target"},
		{a, "Service.ExecStart", c.Binary + ` apply high-concurrency "/etc/tcptune/my 100%% $$HOME.yaml" --profile-dir /etc/tcptune/profiles.d --state-dir /var/lib/tcptune`},
		{a, "Service.ExecStartPost", c.Binary + ` diff high-concurrency "/etc/tcptune/my 100%% $$HOME.yaml" --profile-dir /etc/tcptune/profiles.d`},
		{a, "Unit.Description", "tcptune: apply and verify network profile high-concurrency /etc/tcptune/my 100%% $HOME.yaml"},
		{r, "Service.Type", "notify"},
		{r, "Service.WatchdogSec", "90s"},
		{r, "Unit.After", ApplyUnit + " network-pre.target"},
		{r, "Service.ProtectKernelTunables", "no"},
		{r, "Service.PrivateNetwork", "no"},
		{r, "Service.ReadWritePaths", "/var/lib/tcptune -/etc/sysctl.d -/var/lib/node_exporter"},
		{r, "Install.WantedBy", "multi-user.target"},
		// apply lists listeners to restart over netlink (inet_diag);
		// reconcile needs only journald and sd_notify.
		{a, "Service.RestrictAddressFamilies", "AF_UNIX AF_NETLINK"},
		{r, "Service.RestrictAddressFamilies", "AF_UNIX"},
		// Pages the package installs (boottest checks them with dpkg -S).
		{a, "Unit.Documentation", "man:tcptune-apply(8) man:tcptune-diff(8) man:tcptune-systemd-install(8)"},
		{r, "Unit.Documentation", "man:tcptune-reconcile(8) man:tcptune-systemd-install(8)"},
	}
	for _, w := range want {
		if got := w.m[w.key]; len(got) != 1 || got[0] != w.want {
			t.Errorf("%s = %q, want %q", w.key, got, w.want)
		}
	}
	if !strings.Contains(r["Service.ExecStart"][0], " reconcile high-concurrency ") {
		t.Errorf("reconcile ExecStart = %q", r["Service.ExecStart"])
	}
}

func TestWatchdogSec(t *testing.T) {
	for iv, want := range map[time.Duration]time.Duration{200 * time.Millisecond: 30 * time.Second, time.Minute: 3 * time.Minute} {
		if got := (UnitConfig{Interval: iv}).WatchdogSec(); got != want {
			t.Errorf("WatchdogSec(%v) = %v, want %v", iv, got, want)
		}
	}
}

func TestUnitConfigValidate(t *testing.T) {
	for name, mut := range map[string]func(*UnitConfig){
		"relative binary": func(c *UnitConfig) { c.Binary = "tcptune" },
		"no profile":      func(c *UnitConfig) { c.Profiles = nil },
		"zero interval":   func(c *UnitConfig) { c.Interval = 0 },
		"newline in arg":  func(c *UnitConfig) { c.Profiles = []string{"a\nExecStartPre=/bin/rm"} },
		"relative state":  func(c *UnitConfig) { c.StateDir = "state" },
		"space in path":   func(c *UnitConfig) { c.WritablePaths = []string{"/a b"} },
	} {
		c := testConfig(t)
		mut(&c)
		if _, err := Units(c); err == nil {
			t.Errorf("%s: Units accepted it", name)
		}
	}
}

func TestQuoteExecArg(t *testing.T) {
	for in, want := range map[string]string{
		"high-concurrency": "high-concurrency",
		"/usr/bin/tcptune": "/usr/bin/tcptune",
		"a b":              `"a b"`,
		`say "hi"\`:        `"say \"hi\"\\"`,
		"100%":             "100%%",
		"$HOME":            "$$HOME",
		"":                 `""`,
		"x;y":              `"x;y"`,
	} {
		if got := quoteExecArg(in); got != want {
			t.Errorf("quoteExecArg(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestWriteAndRemoveUnits(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "units")
	units, err := Units(testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	paths, err := WriteUnits(dir, units)
	if err != nil || len(paths) != 2 {
		t.Fatalf("WriteUnits = %v, %v", paths, err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(b, units[filepath.Base(p)]) {
			t.Fatalf("%s: %v", p, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("unit dir holds %d entries, want 2 (no temp files left)", len(entries))
	}
	removed, err := RemoveUnits(dir)
	if err != nil || len(removed) != 2 {
		t.Fatalf("RemoveUnits = %v, %v", removed, err)
	}
	if removed, err := RemoveUnits(dir); err != nil || len(removed) != 0 {
		t.Fatalf("second RemoveUnits = %v, %v", removed, err)
	}
}
