//go:build !tcptune_ext

package systemd

import (
	"context"
	"fmt"
)

// connectDBus in a build without D-Bus (the tcptune binary; manager_dbus.go
// says why): ErrNoManager, so Install writes the units and returns the
// commands that enable them. tcptune's own systemd install never gets here
// when systemd is PID 1: it runs tcptune-ext, which has D-Bus, instead.
func connectDBus(context.Context) (Manager, error) {
	return nil, fmt.Errorf("%w: this build has no D-Bus support (tcptune-ext, built with -tags tcptune_ext, has it)", ErrNoManager)
}
