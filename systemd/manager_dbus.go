//go:build tcptune_ext

// D-Bus is the companion's (tcptune-ext's): godbus and go-systemd's dbus
// package stay out of the tcptune binary, which every diff and apply starts
// (make bench). tcptune's systemd install and uninstall run the companion
// when systemd is PID 1 (internal/cli/systemd.go); manager_core.go is the
// other builds' side.

package systemd

import (
	"context"
	"fmt"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
)

type dbusManager struct{ c *sddbus.Conn }

func connectDBus(ctx context.Context) (Manager, error) {
	c, err := sddbus.NewSystemConnectionContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to systemd over D-Bus: %w", err)
	}
	return &dbusManager{c: c}, nil
}

func (m *dbusManager) Close() { m.c.Close() }

func (m *dbusManager) Reload(ctx context.Context) error {
	if err := m.c.ReloadContext(ctx); err != nil {
		return fmt.Errorf("systemd daemon-reload: %w", err)
	}
	return nil
}

func (m *dbusManager) Enable(ctx context.Context, names []string) error {
	if err := m.Reload(ctx); err != nil {
		return err
	}
	// The files already live in a unit directory, so enable by name (not
	// runtime, not force): systemd creates the WantedBy= symlinks.
	if _, _, err := m.c.EnableUnitFilesContext(ctx, names, false, false); err != nil {
		return fmt.Errorf("enable %v: %w", names, err)
	}
	return m.Reload(ctx)
}

func (m *dbusManager) Start(ctx context.Context, names []string) error {
	for _, n := range names {
		done := make(chan string, 1)
		if _, err := m.c.RestartUnitContext(ctx, n, "replace", done); err != nil {
			return fmt.Errorf("start %s: %w", n, err)
		}
		select {
		case res := <-done:
			if res != "done" {
				return fmt.Errorf("start %s: job %s (see journalctl -u %s)", n, res, n)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (m *dbusManager) Disable(ctx context.Context, names []string) error {
	for _, n := range names {
		done := make(chan string, 1)
		if _, err := m.c.StopUnitContext(ctx, n, "replace", done); err != nil {
			continue // not loaded: nothing to stop
		}
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if _, err := m.c.DisableUnitFilesContext(ctx, names, false); err != nil {
		return fmt.Errorf("disable %v: %w", names, err)
	}
	return nil
}
