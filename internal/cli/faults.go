package cli

import (
	"context"
	"io"

	"github.com/tcptune/tcptune/sysctl"
)

// faults are behaviours only test builds have; in the shipped binary every
// field is nil or false. The package's tests set them (faults_hooks_test.go),
// and so does a binary built with -tags tcptune_testhooks
// (faults_testhooks.go), which the boot test packages to SIGKILL an apply
// at a known write.
var faults struct {
	// afterWrite, when set, gives apply's Options.AfterWrite for a run
	// that reports on w and stops on ctx (nil: no hook for this run).
	afterWrite func(ctx context.Context, w io.Writer) func(int, sysctl.Key)
	// noReexec refuses --netns, which execve's the process: in a test
	// binary that would replace the test.
	noReexec bool
}
