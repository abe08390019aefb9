package systemd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fakeManager records what Install and Uninstall ask of systemd.
type fakeManager struct {
	calls []string
	fail  string // the call that fails
}

func (m *fakeManager) do(c string, names []string) error {
	m.calls = append(m.calls, c+" "+strings.Join(names, ","))
	if c == m.fail {
		return errors.New(c + " refused")
	}
	return nil
}
func (m *fakeManager) Enable(_ context.Context, ns []string) error  { return m.do("enable", ns) }
func (m *fakeManager) Start(_ context.Context, ns []string) error   { return m.do("start", ns) }
func (m *fakeManager) Disable(_ context.Context, ns []string) error { return m.do("disable", ns) }
func (m *fakeManager) Reload(context.Context) error                 { return m.do("reload", nil) }
func (m *fakeManager) Close()                                       { m.calls = append(m.calls, "close") }

func installConfig() UnitConfig {
	return UnitConfig{Binary: "/usr/bin/tcptune", Profiles: []string{"high-concurrency"}, Mode: "enforce",
		Interval: 30 * time.Second, StateDir: "/var/lib/tcptune"}
}

func TestInstallWithoutSystemdPrintsCommands(t *testing.T) {
	dir := t.TempDir()
	res, err := Install(context.Background(), InstallOptions{Config: installConfig(), UnitDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Enabled || len(res.Units) != 2 || !reflect.DeepEqual(res.Commands, EnableCommands([]string{ApplyUnit, ReconcileUnit})) {
		t.Fatalf("first install: %+v", res)
	}
	if res, _ = Install(context.Background(), InstallOptions{Config: installConfig(), UnitDir: dir}); res.Changed {
		t.Errorf("second install reports a change: %+v", res)
	}
	res, err = Uninstall(context.Background(), dir, nil)
	if err != nil || !res.Changed || len(res.Commands) == 0 {
		t.Fatalf("uninstall: %v %+v", err, res)
	}
	if _, err := os.Stat(filepath.Join(dir, ApplyUnit)); !os.IsNotExist(err) {
		t.Errorf("unit left after uninstall: %v", err)
	}
}

func TestInstallThroughManager(t *testing.T) {
	dir := t.TempDir()
	m := &fakeManager{}
	connect := func(context.Context) (Manager, error) { return m, nil }
	res, err := Install(context.Background(), InstallOptions{Config: installConfig(), UnitDir: dir, Start: true, Connect: connect})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"enable " + ApplyUnit + "," + ReconcileUnit, "start " + ApplyUnit + "," + ReconcileUnit, "close"}
	if !reflect.DeepEqual(m.calls, want) || !res.Enabled || !res.Started || len(res.Commands) != 0 {
		t.Fatalf("calls %v, result %+v", m.calls, res)
	}
	m.calls, m.fail = nil, "start"
	res, err = Install(context.Background(), InstallOptions{Config: installConfig(), UnitDir: dir, Start: true, Connect: connect})
	if err == nil || !res.Failed || !res.Enabled || res.Started {
		t.Errorf("a failed start: %v %+v", err, res)
	}
	m.calls, m.fail = nil, ""
	if _, err := Uninstall(context.Background(), dir, connect); err != nil {
		t.Fatal(err)
	}
	if want := []string{"disable " + ReconcileUnit + "," + ApplyUnit, "reload ", "close"}; !reflect.DeepEqual(m.calls, want) {
		t.Errorf("uninstall calls %v, want %v", m.calls, want)
	}
	if _, err := Install(context.Background(), InstallOptions{Config: UnitConfig{}, UnitDir: dir}); err == nil {
		t.Error("an invalid unit config was installed")
	}
}
