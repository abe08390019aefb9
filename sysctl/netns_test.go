package sysctl

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDetectNetnsKernelFactsFirst: a booted container's PID 1 shares the
// container's network namespace, so /proc/1/ns/net == /proc/self/ns/net
// there; the absence of netdev_max_backlog must still make it a child.
func TestDetectNetnsKernelFactsFirst(t *testing.T) {
	mk := func(t *testing.T, backlog bool, sameAsPID1 bool) string {
		root := t.TempDir()
		core := filepath.Join(root, "sys/net/core")
		if err := os.MkdirAll(core, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(core, "somaxconn"), []byte("4096\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if backlog {
			if err := os.WriteFile(filepath.Join(core, "netdev_max_backlog"), []byte("1000\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for pid, ns := range map[string]string{"self": "net:[4026531840]", "1": "net:[4026531840]"} {
			if pid == "1" && !sameAsPID1 {
				ns = "net:[4026532000]"
			}
			if err := os.MkdirAll(filepath.Join(root, pid, "ns"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(ns, filepath.Join(root, pid, "ns", "net")); err != nil {
				t.Fatal(err)
			}
		}
		return root
	}
	for _, c := range []struct {
		name              string
		backlog, samePID1 bool
		want              NetnsKind
	}{
		{"booted container: PID 1 shares the child namespace", false, true, NetnsChild},
		{"host", true, true, NetnsInitial},
		{"child, PID 1 elsewhere", false, false, NetnsChild},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := DetectNetns(mk(t, c.backlog, c.samePID1)); got != c.want {
				t.Errorf("DetectNetns = %v, want %v", got, c.want)
			}
		})
	}
	// No /proc/sys/net/core: the namespace links decide.
	root := t.TempDir()
	for pid, ns := range map[string]string{"self": "net:[1]", "1": "net:[2]"} {
		os.MkdirAll(filepath.Join(root, pid, "ns"), 0o755)
		os.Symlink(ns, filepath.Join(root, pid, "ns", "net"))
	}
	if got := DetectNetns(root); got != NetnsChild {
		t.Errorf("without /proc/sys/net/core: DetectNetns = %v, want child", got)
	}
	if got := DetectNetns(t.TempDir()); got != NetnsUnknown {
		t.Errorf("empty proc: DetectNetns = %v, want unknown", got)
	}
}
