package cli

import (
	"strings"
	"testing"

	"github.com/tcptune/tcptune/internal/nstest"
)

// TestKernelNetnsKindInitialRefusedInChild: --netns-kind initial on the live
// /proc/sys asserts the host's namespace; in a child namespace it is an
// error with a hint, and nothing is read or written as if it were the host.
func TestKernelNetnsKindInitialRefusedInChild(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	code, out, errs := run(t, "diff", "high-concurrency", "--netns-kind", "initial")
	if code != ExitError || !strings.Contains(errs, "--netns-kind initial, but net:[") ||
		!strings.Contains(errs, "is a child network namespace: net.core.netdev_max_backlog is absent") ||
		!strings.Contains(errs, "tcptune: hint: run tcptune in the host's network namespace (hostNetwork: true") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	// auto: host-wide keys are host-wide here.
	code, out, errs = run(t, "diff", "high-concurrency")
	if code != ExitChanges || !strings.Contains(out, "net.core.netdev_max_backlog") || !strings.Contains(out, "host-wide") {
		t.Errorf("auto: exit %d\n%s%s", code, out, errs)
	}
	// A fake root is not the live tree: the flag decides there.
	if code, _, errs = run(t, "list", "--netns-kind", "initial", "--sysctl-root", t.TempDir()); code != ExitOK {
		t.Errorf("fake root with --netns-kind initial: exit %d %s", code, errs)
	}
}
