package boottest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// figures are printed at the end of the run.
var figures struct {
	sync.Mutex
	boots, predictions, matched, keys int
}

func TestMain(m *testing.M) {
	code := m.Run()
	if env.run != "" {
		os.RemoveAll(env.run)
	}
	if env.image != nil {
		env.image.Release()
	}
	if figures.boots > 0 {
		fmt.Printf("boot test: %d boots, %d precedence predictions checked, %d matched, %d keys verified after boot\n",
			figures.boots, figures.predictions, figures.matched, figures.keys)
	}
	os.Exit(code)
}

// env is what every scenario shares: the image and the two .debs.
var env struct {
	once  sync.Once
	err   error
	image *Image
	run   string // this run's directory: the share and every container's overlay
	share string // host directory bound at ShareDir
}

// runPrefix names run directories; the PID after it tells a live run's
// directory from one a killed run left behind.
const runPrefix = "tcptune-boottest-"

// sweepStale removes run directories of test processes that no longer
// exist (killed before their clean-up; their containers died with them).
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), runPrefix+"*"))
	for _, d := range dirs {
		pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), runPrefix))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); os.IsNotExist(err) {
			os.RemoveAll(d)
		}
	}
}

const (
	deb1 = ShareDir + "/tcptune-1.deb" // version 1.0.0~boot1
	deb2 = ShareDir + "/tcptune-2.deb" // the rebuilt upgrade, 1.0.0~boot2
)

// gate skips without root or the tools, and fails instead with
// TCPTUNE_REQUIRE_NETNS=1 (what `make test` sets as root), so CI runs it.
func gate(t *testing.T) {
	t.Helper()
	skip := func(why string) {
		if os.Getenv("TCPTUNE_REQUIRE_NETNS") == "1" {
			t.Fatalf("boot test cannot run: %s (TCPTUNE_REQUIRE_NETNS=1: it must)", why)
		}
		t.Skipf("SKIPPED: boot test: %s", why)
	}
	if testing.Short() {
		t.Skip("SKIPPED: boot test boots containers; skipped with -short")
	}
	if os.Geteuid() != 0 {
		skip("needs root (systemd-nspawn, overlay mounts)")
	}
	for _, tool := range []string{"debootstrap", "systemd-nspawn", "nsenter", "unshare", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			skip(tool + " not found (packages debootstrap, systemd-container, util-linux, dpkg)")
		}
	}
}

// setup builds (or reuses) the image and builds the two .debs once.
func setup(t *testing.T) {
	t.Helper()
	gate(t)
	env.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
		defer cancel()
		cache := os.Getenv("TCPTUNE_BOOTTEST_CACHE")
		if cache == "" {
			cache = DefaultCacheDir
		}
		env.image, env.err = EnsureImage(ctx, cache, Mirror(), t.Logf)
		if env.err != nil {
			return
		}
		sweepStale()
		env.run = filepath.Join(os.TempDir(), fmt.Sprintf("%s%d", runPrefix, os.Getpid()))
		env.share = filepath.Join(env.run, "share")
		if env.err = os.MkdirAll(env.share, 0o755); env.err != nil {
			return
		}
		for i, v := range []string{"1.0.0~boot1", "1.0.0~boot2"} {
			if env.err = buildDeb(ctx, v, filepath.Join(env.share, fmt.Sprintf("tcptune-%d.deb", i+1))); env.err != nil {
				return
			}
		}
	})
	if env.err != nil {
		t.Fatalf("boot test set-up: %v", env.err)
	}
}

// buildDeb builds tcptune (with -tags tcptune_testhooks) and packages it
// with packaging/build-deb.sh, the recipe of `make deb`, versioned so the
// upgrade is visible in `tcptune version` too.
func buildDeb(ctx context.Context, version, dst string) error {
	tmp, err := os.MkdirTemp("", "tcptune-boottest-deb-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "tcptune")
	run := func(name string, args ...string) error {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
		}
		return nil
	}
	// Static, as make build and the .deb ship it (build-deb.sh refuses a cgo
	// build), and the test build: TestCrashAtBoot SIGKILLs an apply paused by
	// the TCPTUNE_TEST_PAUSE_AFTER_WRITE hook, which the shipped binary lacks.
	goexp, err := exec.Command("sh", "../scripts/goexperiment").Output() // make build's GOEXPERIMENT, which build-deb.sh checks
	if err != nil {
		return fmt.Errorf("scripts/goexperiment: %w", err)
	}
	gx := "GOEXPERIMENT=" + strings.TrimSpace(string(goexp))
	if err := run("env", "CGO_ENABLED=0", gx, "go", "build", "-tags", "tcptune_testhooks", "-ldflags", "-X github.com/tcptune/tcptune/internal/cli.Version="+version,
		"-o", bin, "./cmd/tcptune"); err != nil {
		return err
	}
	if err := run("env", "CGO_ENABLED=0", gx, "go", "build", "-tags", "tcptune_testhooks tcptune_ext", "-ldflags", "-X github.com/tcptune/tcptune/internal/cli.Version="+version,
		"-o", filepath.Join(tmp, "tcptune-ext"), "./cmd/tcptune"); err != nil {
		return err
	}
	if err := run("packaging/build-deb.sh", bin, filepath.Join(tmp, "out"), version); err != nil {
		return err
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "out", "*.deb"))
	if len(debs) != 1 {
		return fmt.Errorf("build-deb.sh made %v", debs)
	}
	b, err := os.ReadFile(debs[0])
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// boot makes a fresh container (its own overlay, nothing shared with any
// other run), boots it and removes it at the end of the test, also on
// failure.
func boot(t *testing.T, name string) *Machine {
	t.Helper()
	setup(t)
	dir, err := os.MkdirTemp(env.run, name+"-")
	if err != nil {
		t.Fatal(err)
	}
	countBoot := func() { figures.Lock(); figures.boots++; figures.Unlock() }
	m, err := NewMachine(fmt.Sprintf("tcptune-boot-%s-%d", name, os.Getpid()), env.image.Root, env.share, dir, countBoot, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			if m.Running() {
				t.Logf("journal of %s (tail):\n%s", m.Name, tail(m.Run("journalctl", "-b", "--no-pager", "-n", "80").Stdout, 6000))
			}
			t.Logf("console of %s (tail):\n%s", m.Name, m.Console(2000))
		}
		m.Destroy()
		os.RemoveAll(dir)
	})
	if err := m.Boot(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m
}

func reboot(t *testing.T, m *Machine) {
	t.Helper()
	if err := m.Reboot(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// must fails the test unless the command exited 0.
func must(t *testing.T, r Result) Result {
	t.Helper()
	if r.Code != 0 {
		t.Fatalf("in the container: %s", r)
	}
	return r
}

// mustCode fails unless the command exited with code.
func mustCode(t *testing.T, r Result, code int) Result {
	t.Helper()
	if r.Code != code {
		t.Fatalf("in the container, want exit %d: %s", code, r)
	}
	return r
}

func install(t *testing.T, m *Machine, deb string) {
	t.Helper()
	must(t, m.Run("dpkg", "-i", deb))
}

// live reads a sysctl inside the container, whitespace-normalised.
func live(t *testing.T, m *Machine, key string) string {
	t.Helper()
	r := must(t, m.Run("sysctl", "-n", key))
	return strings.Join(strings.Fields(r.Stdout), " ")
}

// verifyKeys checks live values against want (after a boot) and counts them.
func verifyKeys(t *testing.T, m *Machine, when string, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := live(t, m, k); got != v {
			t.Errorf("%s: %s = %q, want %q", when, k, got, v)
		}
		figures.Lock()
		figures.keys++
		figures.Unlock()
	}
}

func exists(m *Machine, path string) bool { return m.Run("test", "-e", path).Code == 0 }

func decode(t *testing.T, r Result, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Stdout), v); err != nil {
		t.Fatalf("%s: decode JSON: %v\n%s", r.Cmd, err, r.Stdout)
	}
}

// unitProps reads systemctl show properties of a unit.
func unitProps(t *testing.T, m *Machine, unit string, props ...string) map[string]string {
	t.Helper()
	r := must(t, m.Run("systemctl", "show", unit, "-p", strings.Join(props, ",")))
	out := map[string]string{}
	for _, l := range strings.Split(r.Stdout, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			out[k] = v
		}
	}
	return out
}

// waitFor polls cond (bounded) and fails with what the last try saw.
func waitFor(t *testing.T, what string, bound time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		ok, seen := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last seen: %s", what, bound, seen)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// journalRecords returns the journal entries matching the given
// field=value matches, as JSON objects.
func journalRecords(t *testing.T, m *Machine, matches ...string) []map[string]any {
	t.Helper()
	r := must(t, m.Run(append([]string{"journalctl", "--no-pager", "-o", "json"}, matches...)...))
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		if l == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("journalctl -o json: %v: %s", err, l)
		}
		out = append(out, rec)
	}
	return out
}
