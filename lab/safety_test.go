package lab

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/sysctl"
)

// hostKeys are every key a scenario's before state or a built-in profile
// touches, read in the test's own (host) namespace.
func hostKeys(t *testing.T) map[string]string {
	t.Helper()
	names := map[string]bool{}
	for _, sc := range Scenarios() {
		for _, k := range sc.keys() {
			names[k] = true
		}
	}
	for _, p := range []string{"high-concurrency", "fail-fast", "syn-flood"} {
		for _, s := range resolve(t, p).Settings {
			names[s.Key.String()] = true
		}
	}
	fs := sysctl.NewFS("")
	out := map[string]string{}
	for n := range names {
		v, err := fs.Read(sysctl.MustKey(n))
		if err != nil {
			out[n] = "error: " + err.Error()
			continue
		}
		out[n] = v.String()
	}
	return out
}

// TestHostUnchangedAfterLab runs a lab (before state, apply of
// high-concurrency, workload) and proves the host's values did not move.
func TestHostUnchangedAfterLab(t *testing.T) {
	needNetns(t)
	before := hostKeys(t)
	if before["net.core.somaxconn"] == "128" {
		t.Fatal("host somaxconn is already the lab's before value; the test could not tell a leak")
	}
	rep := runLab(t, Options{Scenario: "burst-resets", Resolved: resolve(t, "high-concurrency"), Clients: 50})
	if rep.Before.Settings["net.core.somaxconn"] != "128" || rep.After.Settings["net.core.somaxconn"] != "65535" {
		t.Fatalf("lab did not set its values in the namespace: %v / %v", rep.Before.Settings, rep.After.Settings)
	}
	after := hostKeys(t)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("host %s changed: %q -> %q", k, v, after[k])
		}
	}
}

// TestChildRefusesInHostNamespace runs the child's code in this process,
// which is in the namespace it names as the host's: it must refuse before
// writing anything, even to a fake tree.
func TestChildRefusesInHostNamespace(t *testing.T) {
	self, err := netns.Self()
	if err != nil {
		t.Skip(err)
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "net/core"), 0o755); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(root, "net/core/somaxconn")
	if err := os.WriteFile(f, []byte("4096\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	req := &request{Scenario: "burst-resets", Resolved: resolve(t, "high-concurrency"), Clients: 10,
		HostNetns: self, SysctlRoot: root}
	_, err = runChild(context.Background(), req, nil)
	if !errors.Is(err, ErrNotPrivate) {
		t.Fatalf("runChild in the host namespace: err = %v, want ErrNotPrivate", err)
	}
	if b, _ := os.ReadFile(f); string(b) != "4096\n" {
		t.Fatalf("fake somaxconn written despite the refusal: %q", b)
	}
}

// TestRefusesWithoutNamespace runs Run as an unprivileged user, who cannot
// create a network namespace: Run must fail with ErrNoNetns.
func TestRefusesWithoutNamespace(t *testing.T) {
	if os.Getenv("TCPTUNE_LAB_UNPRIV") == "1" {
		_, err := Run(context.Background(), Options{Scenario: "burst-resets",
			Resolved: resolve(t, "high-concurrency"), Clients: 10, Exe: os.Args[0]})
		if !errors.Is(err, ErrNoNetns) {
			t.Fatalf("err = %v, want ErrNoNetns", err)
		}
		t.Logf("refused: %v", err)
		return
	}
	needNetns(t) // root, to start the unprivileged copy
	// t.TempDir's parent is private to root; the copy must be reachable.
	dir, err := os.MkdirTemp("", "tcptune-lab-unpriv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "lab.test")
	b, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run", "^TestRefusesWithoutNamespace$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "TCPTUNE_LAB_UNPRIV=1")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("unprivileged run: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "cannot create a private network namespace") {
		t.Fatalf("no clear refusal in:\n%s", out)
	}
}
