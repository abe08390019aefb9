package netns_test

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/tcptune/tcptune/internal/nstest"
	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/sysctl"
)

// TestKernelChildFacts: in a namespace made for the test, the kernel facts
// say child, the guard passes, and the namespace is listed once.
func TestKernelChildFacts(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	h := netns.Detect(sysctl.DefaultRoot)
	if h.Kind != netns.Child || !strings.Contains(h.Reason, "netdev_max_backlog") {
		t.Errorf("Detect in a private namespace = %+v, want child from netdev_max_backlog", h)
	}
	if h.InitShares != netns.TriNo {
		t.Errorf("InitShares in a private namespace = %v, want no (PID 1 is the parent's)", h.InitShares)
	}
	if ok, why := h.PersistDefault(); ok || why == "" {
		t.Errorf("PersistDefault = %v %q: PID 1 is not in this namespace, want no", ok, why)
	}
	if err := netns.CheckPrivate(netns.ID{}); err != nil {
		t.Errorf("CheckPrivate in a private namespace: %v", err)
	}
	if err := netns.CheckPrivate(h.Self); err == nil {
		t.Error("CheckPrivate accepted the namespace it was told is the parent's")
	}
}

// TestCheckPrivateRefusesHere: in the test's own namespace the guard
// refuses, whatever it is told.
func TestCheckPrivateRefusesHere(t *testing.T) {
	self, err := netns.Self()
	if err != nil {
		t.Skip(err)
	}
	if err := netns.CheckPrivate(self); err == nil {
		t.Fatal("CheckPrivate passed in the namespace named as the parent")
	}
}

// TestKernelDoEntersAndLeaves: Do runs fn inside an `ip netns` namespace
// (its somaxconn is the kernel default, written there only) and the caller's
// threads stay where they were.
func TestKernelDoEntersAndLeaves(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("TCPTUNE_REQUIRE_NETNS") == "1" {
			t.Fatal("needs root (TCPTUNE_REQUIRE_NETNS=1)")
		}
		t.Skip("SKIPPED: needs root")
	}
	name := "tcptune-i10-" + strconv.Itoa(os.Getpid()) + "-do"
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	self, _ := netns.Self()
	tg, err := netns.Resolve(name)
	if err != nil {
		t.Fatal(err)
	}
	want, err := tg.ID()
	if err != nil || want == self {
		t.Fatalf("target %v: %v", want, err)
	}
	var inside netns.ID
	var kind netns.Kind
	err = netns.Do(tg, func() error {
		var err error
		inside, err = netns.Self()
		kind = netns.Detect(sysctl.DefaultRoot).Kind
		if err == nil {
			err = netns.CheckPrivate(self)
		}
		if err == nil {
			err = sysctl.NewFS("").Write(sysctl.MustKey("net.core.somaxconn"), "777")
		}
		return err
	})
	if err != nil || inside != want || kind != netns.Child {
		t.Fatalf("Do: err %v, inside %v (want %v), kind %v", err, inside, want, kind)
	}
	out, _ := exec.Command("ip", "netns", "exec", name, "cat", "/proc/sys/net/core/somaxconn").Output()
	if strings.TrimSpace(string(out)) != "777" {
		t.Errorf("somaxconn in %s = %q, want 777", name, out)
	}
	if now, _ := netns.Self(); now != self {
		t.Errorf("caller's namespace changed to %v", now)
	}
	found := false
	nss, _, err := netns.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nss {
		if n.ID == want {
			found = len(n.Names) == 1 && n.Names[0] == name && n.Path == tg.Path
		}
	}
	if !found {
		t.Errorf("List does not name %s at %s: %+v", want, tg.Path, nss)
	}
	if err := netns.Do(netns.Target{Path: "/run/netns/tcptune-i10-none"}, func() error { return nil }); err == nil ||
		!strings.Contains(err.Error(), "no such namespace") {
		t.Errorf("Do on a missing namespace: %v", err)
	}
}
