//go:build tcptune_testhooks

package cli

import "github.com/tcptune/tcptune/internal/testhook"

// A test build of the binary (-tags tcptune_testhooks): apply pauses where
// TCPTUNE_TEST_PAUSE_AFTER_WRITE says.
func init() { faults.afterWrite = testhook.PauseAfterWrite }
