package lab

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/tcptune/tcptune/profiles"
)

// needNetns skips without root, or fails when TCPTUNE_REQUIRE_NETNS=1
// (make test as root), as internal/nstest does.
func needNetns(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("TCPTUNE_REQUIRE_NETNS") == "1" {
			t.Fatal("lab test cannot run: not root (TCPTUNE_REQUIRE_NETNS=1)")
		}
		t.Skip("SKIPPED lab test (needs root for a private network namespace)")
	}
}

func resolve(t *testing.T, name string) *profiles.Resolved {
	t.Helper()
	r, err := (&profiles.Loader{}).Resolve(name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func runLab(t *testing.T, opts Options) *Report {
	t.Helper()
	opts.Exe, opts.Args = os.Args[0], nil
	if testing.Verbose() {
		opts.Log, opts.Verbose = os.Stderr, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}
