// Package nstest runs kernel tests inside a private network namespace.
//
// The rule it enforces: a test never writes a sysctl of the machine it runs
// on. A kernel test calls InPrivateNetns at its top:
//
//	func TestKernelSomething(t *testing.T) {
//		if !nstest.InPrivateNetns(t) {
//			return // the parent: the body ran in a child process
//		}
//		// here the process is in a fresh network namespace; verified
//	}
//
// The parent re-executes the test binary for just this test in a brand-new
// network namespace (netns.Isolate) with only a loopback device. Before
// returning true, the child runs netns.CheckPrivate: its namespace must differ
// from the parent's (passed down by identity) and from PID 1's when that is
// readable, and the kernel facts must not call it the initial one. Without root the test is skipped
// with a message, unless TCPTUNE_REQUIRE_NETNS=1 (set by `make test` when it
// runs as root), in which case a missing namespace fails the test.
package nstest

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/tcptune/tcptune/netns"
)

const (
	envChild   = "TCPTUNE_NSTEST_CHILD"
	envRequire = "TCPTUNE_REQUIRE_NETNS"
)

// InPrivateNetns returns true in the child process, after verifying it is in
// a private network namespace with loopback up. In the parent it runs the
// child, reports its output and result, and returns false.
func InPrivateNetns(t *testing.T) bool {
	t.Helper()
	if os.Getenv(envChild) == t.Name() {
		Guard(t)
		if err := LoopbackUp(); err != nil {
			t.Fatalf("nstest: bring up lo in the private namespace: %v", err)
		}
		return true
	}
	if os.Getenv(envChild) != "" {
		// A child process for another test: never run this one here.
		t.Skip("nstest: child process of another kernel test")
	}
	if reason := unavailable(); reason != "" {
		if os.Getenv(envRequire) == "1" {
			t.Fatalf("nstest: kernel test cannot run: %s (TCPTUNE_REQUIRE_NETNS=1)", reason)
		}
		t.Skipf("SKIPPED kernel test (needs a private network namespace): %s", reason)
	}
	cmd := exec.Command(os.Args[0], "-test.run", runPattern(t.Name()), "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), envChild+"="+t.Name())
	if _, err := netns.Isolate(cmd); err != nil {
		t.Fatalf("nstest: %v", err)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if testing.Verbose() || err != nil {
		t.Logf("output of %s in a private network namespace:\n%s", t.Name(), indent(out.String()))
	}
	if err != nil {
		t.Fatalf("kernel test %s failed in its private network namespace: %v", t.Name(), err)
	}
	if !strings.Contains(out.String(), "--- PASS: "+t.Name()) {
		t.Fatalf("kernel test %s did not report PASS in its child process", t.Name())
	}
	return false
}

// Guard fails the test at once unless the process is in a network namespace
// other than the parent's and PID 1's. Call it before the first sysctl write
// in any code that runs in a namespace it believes private.
func Guard(t testing.TB) {
	t.Helper()
	if netns.Parent().IsZero() {
		t.Fatalf("nstest: REFUSING TO RUN: not started by netns.Isolate (no parent namespace recorded)")
	}
	if err := netns.CheckPrivate(netns.Parent()); err != nil {
		t.Fatalf("nstest: REFUSING TO RUN: %v", err)
	}
}

// LoopbackUp sets lo up in the current network namespace.
func LoopbackUp() error { return netns.LoopbackUp() }

func unavailable() string {
	if os.Geteuid() != 0 {
		return "not running as root"
	}
	if _, err := os.Stat("/proc/self/ns/net"); err != nil {
		return "no /proc/self/ns/net"
	}
	return ""
}

func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}
