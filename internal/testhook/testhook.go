// Package testhook holds the fault hooks that only test builds of tcptune
// have. The shipped binary never imports it: internal/cli's tests set the
// hooks from their own _test.go file, and a binary built with
// -tags tcptune_testhooks (the boot test's .deb) from a build-tagged file.
package testhook

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/tcptune/tcptune/sysctl"
)

// EnvPauseAfterWrite=k makes apply print "paused after write k (KEY)" and
// sleep after its k-th verified write, so a test can SIGKILL it there.
const EnvPauseAfterWrite = "TCPTUNE_TEST_PAUSE_AFTER_WRITE"

// maxPause bounds the pause: the test kills the process long before.
const maxPause = 60 * time.Second

// PauseAfterWrite returns apply's Options.AfterWrite for EnvPauseAfterWrite,
// reporting on w; nil when the variable is unset or not a positive number.
// The pause ends when ctx is cancelled (a signal: the test signals the
// apply there) or after maxPause.
func PauseAfterWrite(ctx context.Context, w io.Writer) func(int, sysctl.Key) {
	k, err := strconv.Atoi(os.Getenv(EnvPauseAfterWrite))
	if err != nil || k <= 0 {
		return nil
	}
	return func(i int, key sysctl.Key) {
		if i != k {
			return
		}
		fmt.Fprintf(w, "tcptune: test hook: paused after write %d (%s)\n", i, key)
		select {
		case <-ctx.Done():
		case <-time.After(maxPause):
		}
	}
}
