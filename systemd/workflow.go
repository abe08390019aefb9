package systemd

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
)

// InstallResult is what Install and Uninstall did, in the stable JSON shape
// of `tcptune systemd install|uninstall -o json`.
type InstallResult struct {
	Changed bool     `json:"changed"`
	Failed  bool     `json:"failed"`
	Units   []string `json:"units"`
	Enabled bool     `json:"enabled"`
	Started bool     `json:"started"`
	// Commands are to be run by hand: systemd was not reached (not PID 1,
	// or the units went to another directory than DefaultUnitDir).
	Commands []string `json:"commands"`
}

// InstallOptions configures Install.
type InstallOptions struct {
	Config  UnitConfig
	UnitDir string // DefaultUnitDir when ""
	// Start also starts the units (applies the profiles now).
	Start bool
	// Connect reaches the service manager. nil means Connect, and only
	// for DefaultUnitDir (units written elsewhere are not systemd's to
	// load); when set it is used whatever UnitDir is (tests).
	Connect func(context.Context) (Manager, error)
}

// Install renders tcptune-apply.service and tcptune-reconcile.service,
// writes them atomically, and, when systemd is PID 1 and the units went to
// the real unit directory, enables (and with Start starts) them over D-Bus;
// otherwise it fills in the systemctl commands to run. An error after the
// files were written leaves Units set and Failed true.
func Install(ctx context.Context, o InstallOptions) (*InstallResult, error) {
	res := &InstallResult{Units: []string{}, Commands: []string{}}
	dir := o.unitDir()
	units, err := Units(o.Config)
	if err != nil {
		res.Failed = true
		return res, err
	}
	for n, b := range units {
		old, err := os.ReadFile(filepath.Join(dir, n))
		res.Changed = res.Changed || err != nil || !bytes.Equal(old, b)
	}
	paths, err := WriteUnits(dir, units)
	res.Units = append(res.Units, paths...)
	if err != nil {
		res.Failed = true
		return res, err
	}
	names := []string{ApplyUnit, ReconcileUnit}
	m, err := o.manager(ctx, dir)
	if err != nil {
		res.Failed = true
		return res, err
	}
	if m == nil {
		res.Commands = EnableCommands(names)
		return res, nil
	}
	defer m.Close()
	if err := m.Enable(ctx, names); err != nil {
		res.Failed = true
		return res, err
	}
	res.Enabled = true
	if o.Start {
		if err := m.Start(ctx, names); err != nil {
			res.Failed = true
			return res, err
		}
		res.Started = true
	}
	return res, nil
}

// Uninstall stops and disables the units (over D-Bus when systemd is
// reachable), removes the files and enablement links, and reloads systemd;
// unreachable, it fills in the commands that finish the job. The applied
// values stay.
func Uninstall(ctx context.Context, unitDir string, connect func(context.Context) (Manager, error)) (*InstallResult, error) {
	o := InstallOptions{UnitDir: unitDir, Connect: connect}
	dir := o.unitDir()
	res := &InstallResult{Units: []string{}, Commands: []string{}}
	names := []string{ReconcileUnit, ApplyUnit}
	m, err := o.manager(ctx, dir)
	if err != nil {
		res.Failed = true
		return res, err
	}
	if m != nil {
		defer m.Close()
		if err := m.Disable(ctx, names); err != nil {
			res.Failed = true
			return res, err
		}
	}
	removed, err := RemoveUnits(dir)
	res.Units = append(res.Units, removed...)
	res.Changed = len(removed) > 0
	if err != nil {
		res.Failed = true
		return res, err
	}
	switch {
	case m != nil:
		if err := m.Reload(ctx); err != nil {
			res.Failed = true
			return res, err
		}
	case res.Changed:
		res.Commands = DisableCommands(names)
	}
	return res, nil
}

func (o InstallOptions) unitDir() string {
	if o.UnitDir == "" {
		return DefaultUnitDir
	}
	return o.UnitDir
}

// manager is the service manager to talk to, or nil: only for the real unit
// directory, and only when systemd is PID 1.
func (o InstallOptions) manager(ctx context.Context, dir string) (Manager, error) {
	connect := o.Connect
	if connect == nil {
		if dir != DefaultUnitDir {
			return nil, nil
		}
		connect = Connect
	}
	m, err := connect(ctx)
	if errors.Is(err, ErrNoManager) {
		return nil, nil
	}
	return m, err
}
