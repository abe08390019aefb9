package cli

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestApplyFsyncsExactlyThePromise runs the shipped binary under strace and
// lists every call that makes data synchronous (fsync, fdatasync,
// sync_file_range, syncfs, msync, sync): an apply syncs exactly what the
// crash-safety promise needs (docs/design.md), the record and its directory
// before the first write, and the persisted file's temp file and directory;
// the baseline's temp file only when it grows (the first transaction that
// touches a key, covered by the record's directory fsync). The applied mark,
// the last-writer table, the status summary, the audit trail and pruning
// are not synchronous, and nothing is written to $TMPDIR (renameio's
// probe of /tmp).
func TestApplyFsyncsExactlyThePromise(t *testing.T) {
	if _, err := exec.LookPath("strace"); err != nil {
		t.Skip("strace not installed (scripts/test-packages.txt)")
	}
	bin := buildTcptune(t)
	dir := t.TempDir()
	root, state := filepath.Join(dir, "proc"), filepath.Join(dir, "state")
	tmpdir := filepath.Join(dir, "tmpdir")
	if err := os.Mkdir(tmpdir, 0o755); err != nil {
		t.Fatal(err)
	}
	tx, persist := filepath.Join(state, "tx"), filepath.Join(dir, "etc/sysctl.d")
	name := func(p string) string { // what a synced path is
		d, b := filepath.Dir(p), filepath.Base(p)
		switch {
		case p == tx:
			return "state dir tx/"
		case p == persist:
			return "persist dir"
		case d == tx && strings.HasPrefix(b, ".baseline.json"):
			return "baseline temp file"
		case d == tx && regexp.MustCompile(`^\.[0-9]+-[0-9T]+Z\.json`).MatchString(b):
			return "record temp file"
		case d == persist && strings.HasPrefix(b, ".90-tcptune.conf"):
			return "persisted temp file"
		}
		return p
	}
	syncLine := regexp.MustCompile(`(fsync|fdatasync|sync_file_range|syncfs|msync|sync)\((?:\d+<([^>]*)>)?`)
	run := func(step string, args ...string) []string {
		t.Helper()
		out := filepath.Join(dir, "strace.out")
		full := append([]string{"-f", "-y", "-qq", "-o", out, "-e", "trace=fsync,fdatasync,sync_file_range,syncfs,msync,sync,openat,creat", bin}, args...)
		cmd := exec.Command("strace", full...)
		cmd.Env = append(os.Environ(), "TMPDIR="+tmpdir)
		var ee *exec.ExitError
		if b, err := cmd.CombinedOutput(); err != nil && !(errors.As(err, &ee) && ee.ExitCode() == ExitChanges) {
			t.Fatalf("%s: %v\n%s", step, err, b)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, tmpdir) {
				t.Errorf("%s: touches $TMPDIR: %s", step, line)
			}
			if strings.Contains(line, "openat(") || strings.Contains(line, "creat(") {
				continue
			}
			if m := syncLine.FindStringSubmatch(line); m != nil {
				got = append(got, m[1]+" "+name(m[2]))
			}
		}
		return got
	}
	apply := append(append([]string{"apply", "fail-fast"}, txDirs(dir)...), persistFlags(dir)...)
	promise := []string{"fsync record temp file", "fsync state dir tx/", "fsync persisted temp file", "fsync persist dir"}

	writeFakeRoot(t, root, nil)
	if d := cmp.Diff(append([]string{"fsync baseline temp file"}, promise...), run("first apply", apply...)); d != "" {
		t.Errorf("first apply: syncs (-want +got):\n%s", d)
	}
	// The same keys to write again (the baseline knows them) and the
	// persisted file to write again.
	writeFakeRoot(t, root, nil)
	if err := os.Remove(filepath.Join(persist, "90-tcptune.conf")); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(promise, run("second apply", apply...)); d != "" {
		t.Errorf("second apply: syncs (-want +got):\n%s", d)
	}
	writeFakeRoot(t, root, nil)
	if d := cmp.Diff(promise[:2], run("apply --no-persist", append(apply, "--no-persist")...)); d != "" {
		t.Errorf("apply --no-persist: syncs (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string(nil), run("status", append(append([]string{"status"}, txDirs(dir)...), persistFlags(dir)...)...)); d != "" {
		t.Errorf("status: syncs (-want +got):\n%s", d)
	}
	// A saved plan: its temp file (and nothing in $TMPDIR) and the rename.
	writeFakeRoot(t, root, nil)
	planFile := filepath.Join(dir, "plan.json")
	got := run("diff --out", "diff", "fail-fast", "--sysctl-root", root, "--out", planFile)
	if len(got) != 1 || !strings.HasPrefix(got[0], "fsync "+dir+"/.plan.json") {
		t.Errorf("diff --out: syncs %q, want one fsync of the plan's temp file next to it", got)
	}
}
