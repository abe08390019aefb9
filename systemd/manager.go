package systemd

import (
	"context"
	"errors"
)

// ErrNoManager means tcptune did not talk to systemd: it is not PID 1 here
// (a container, a chroot, a test) or this build has no D-Bus support. The
// caller prints EnableCommands instead.
var ErrNoManager = errors.New("systemd is not running as PID 1 here")

// Manager reloads systemd and enables or disables tcptune's units.
type Manager interface {
	// Enable reloads the unit files and enables the units (their
	// [Install] section), as `systemctl daemon-reload; systemctl enable`.
	Enable(ctx context.Context, names []string) error
	// Start (re)starts the units and waits for their jobs.
	Start(ctx context.Context, names []string) error
	// Disable stops and disables the units; the caller removes the files
	// and then calls Reload.
	Disable(ctx context.Context, names []string) error
	Reload(ctx context.Context) error
	Close()
}

// Connect returns a Manager on the system bus, or ErrNoManager when systemd
// is not PID 1. Unit tests never reach the bus (no systemd as PID 1); boottest
// drives this path against the systemd of a booted container.
func Connect(ctx context.Context) (Manager, error) {
	if !Booted() {
		return nil, ErrNoManager
	}
	return connectDBus(ctx)
}
