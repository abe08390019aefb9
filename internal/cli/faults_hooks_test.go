//go:build !tcptune_testhooks

package cli

import "github.com/tcptune/tcptune/internal/testhook"

// The package's tests (and the test binary run as 'tcptune' by
// testscript.Main) have the pause hook, and never re-exec for --netns.
func init() {
	faults.afterWrite = testhook.PauseAfterWrite
	faults.noReexec = true
}
