package sysctl_test

import (
	"errors"
	"testing"

	"github.com/tcptune/tcptune/internal/nstest"
	"github.com/tcptune/tcptune/sysctl"
)

// TestKernelReadWrite runs against the real /proc/sys of a private network
// namespace: real EINVAL, real read-back.
func TestKernelReadWrite(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	f := sysctl.NewFS("")
	k := sysctl.MustKey("net.core.somaxconn")
	if err := f.Write(k, "1234"); err != nil {
		t.Fatal(err)
	}
	if v, err := f.Read(k); err != nil || v != "1234" {
		t.Fatalf("read back %q, %v", v, err)
	}
	// ipv4_local_port_range refuses low > high with EINVAL.
	pr := sysctl.MustKey("net.ipv4.ip_local_port_range")
	before, _ := f.Read(pr)
	if err := f.Write(pr, "60999 32768"); !errors.Is(err, sysctl.ErrRejected) {
		t.Errorf("reversed port range: %v, want sysctl.ErrRejected", err)
	}
	if after, _ := f.Read(pr); after != before {
		t.Errorf("refused write changed the port range: %q -> %q", before, after)
	}
	// somaxconn has extra1 = SYSCTL_ZERO: negative values are refused.
	if err := f.Write(k, "-1"); !errors.Is(err, sysctl.ErrRejected) {
		t.Errorf("somaxconn=-1: %v, want sysctl.ErrRejected", err)
	}
	if err := f.Write(k, "notanumber"); !errors.Is(err, sysctl.ErrRejected) {
		t.Errorf("somaxconn=notanumber: %v, want sysctl.ErrRejected", err)
	}
	// Host-wide keys are not there in a child namespace.
	if _, err := f.Read(sysctl.MustKey("net.core.netdev_max_backlog")); !errors.Is(err, sysctl.ErrNotPresent) {
		t.Errorf("netdev_max_backlog in child netns: %v, want sysctl.ErrNotPresent", err)
	}
	v, err := f.Read(sysctl.MustKey("net.ipv4.tcp_rmem"))
	if err != nil || len(v.Fields()) != 3 {
		t.Errorf("tcp_rmem = %q, %v: want three normalised fields", v, err)
	}
}
