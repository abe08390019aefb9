package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The tcptune binary leaves out the labs and the BPF tracer; they are in
// tcptune-ext (-tags tcptune_ext), which tcptune runs in its place for them.

func goList(t *testing.T, tags ...string) string {
	t.Helper()
	args := append([]string{"list", "-deps"}, tags...)
	out, err := exec.Command("go", append(args, ".")...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	return string(out)
}

func TestCoreBinaryLeavesOutBPFAndLabs(t *testing.T) {
	for _, pkg := range []string{"github.com/cilium/ebpf", "github.com/tcptune/tcptune/lab", "github.com/tcptune/tcptune/resettrace"} {
		core, ext := goList(t), goList(t, "-tags", "tcptune_ext")
		if strings.Contains(core, "\n"+pkg+"\n") {
			t.Errorf("tcptune links %s; it belongs in tcptune-ext", pkg)
		}
		if !strings.Contains(ext, "\n"+pkg+"\n") {
			t.Errorf("tcptune-ext does not link %s", pkg)
		}
	}
}

func build(t *testing.T, out string, tags ...string) {
	t.Helper()
	args := append(append([]string{"build"}, tags...), "-o", out, ".")
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", tags, err, b)
	}
}

func run(t *testing.T, env []string, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.Env = append(os.Environ(), env...)
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return o.String(), e.String(), code
}

func TestLabAndTraceRunTheCompanion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds tcptune twice; skipped with -short")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "tcptune")
	build(t, bin)

	// Not installed: exit 1, the companion named, and how to get it.
	_, stderr, code := run(t, []string{"TCPTUNE_EXT="}, bin, "lab", "list")
	if code != 1 || !strings.Contains(stderr, "tcptune-ext") || !strings.Contains(stderr, "hint:") {
		t.Errorf("lab without tcptune-ext: exit %d, stderr %q; want 1 naming tcptune-ext with a hint", code, stderr)
	}

	// A stand-in next to the binary gets the same arguments, and its exit
	// status is tcptune's: execve, not a child.
	fake := filepath.Join(dir, "tcptune-ext")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho \"ext $*\"\nexit 7\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"lab", "run", "burst-resets", "--runs", "2"},
		{"doctor", "--trace", "5s", "-o", "json"},
		{"-o", "json", "doctor", "--trace", "5s"},
		{"lab", "--help"},
		{"__complete", "lab", "run", ""},
	} {
		stdout, stderr, code := run(t, []string{"TCPTUNE_EXT="}, bin, args...)
		if want := "ext " + strings.Join(args, " ") + "\n"; stdout != want || code != 7 {
			t.Errorf("tcptune %v: stdout %q exit %d (stderr %q); want %q exit 7", args, stdout, code, stderr, want)
		}
	}
	// Commands of tcptune itself never run the companion.
	if stdout, _, code := run(t, []string{"TCPTUNE_EXT="}, bin, "version"); strings.Contains(stdout, "ext ") || code != 0 {
		t.Errorf("tcptune version ran the companion: %q exit %d", stdout, code)
	}

	// The real companion, found through TCPTUNE_EXT.
	real := filepath.Join(t.TempDir(), "tcptune-ext")
	build(t, real, "-tags", "tcptune_ext")
	stdout, stderr, code := run(t, []string{"TCPTUNE_EXT=" + real}, bin, "lab", "list")
	if code != 0 || !strings.Contains(stdout, "burst-resets") {
		t.Errorf("tcptune lab list through tcptune-ext: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}

// A namespace mark that tcptune --netns did not set (forged, or inherited
// into another namespace) is refused by the real binary: the mark is read
// from the environment the process was started with (netns.Entered).
func TestForgedNetnsMarkRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("builds tcptune; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "tcptune")
	build(t, bin)
	_, stderr, code := run(t, []string{"TCPTUNE_NETNS=/run/netns/tcptune-forged", "TCPTUNE_NETNS_ID=1:1"},
		bin, "diff", "high-concurrency", "--sysctl-root", t.TempDir())
	if code != 1 || !strings.Contains(stderr, "TCPTUNE_NETNS=/run/netns/tcptune-forged, but this process runs in") {
		t.Fatalf("forged mark: exit %d, stderr %q; want exit 1 naming the mismatch", code, stderr)
	}
}
