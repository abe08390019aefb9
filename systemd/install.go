package systemd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/renameio/v2"
)

// WriteUnits writes units into dir atomically (temp file in dir, fsync,
// rename), so systemd never reads half a unit. It returns the paths written,
// sorted.
func WriteUnits(dir string, units map[string][]byte) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create unit directory: %w", err)
	}
	names := make([]string, 0, len(units))
	for n := range units {
		names = append(names, n)
	}
	sort.Strings(names)
	var written []string
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := renameio.WriteFile(p, units[n], 0o644, renameio.WithTempDir(dir)); err != nil {
			return written, fmt.Errorf("write unit %s: %w", p, err)
		}
		written = append(written, p)
	}
	return written, nil
}

// RemoveUnits removes tcptune's unit files from dir, and the enablement
// symlinks in dir/*.wants/ that `systemctl enable` made for them (what
// `systemctl disable` would remove, for hosts where systemd is not
// reachable). Missing files are not an error: uninstall twice is fine. It
// returns the paths removed.
func RemoveUnits(dir string) ([]string, error) {
	var removed []string
	links, _ := filepath.Glob(filepath.Join(dir, "*.wants", "tcptune-*.service"))
	for _, l := range links {
		if n := filepath.Base(l); n != ApplyUnit && n != ReconcileUnit {
			continue
		}
		if st, err := os.Lstat(l); err != nil || st.Mode()&os.ModeSymlink == 0 {
			continue // not a symlink: not ours to remove
		}
		if err := os.Remove(l); err != nil {
			return removed, fmt.Errorf("remove enablement link %s: %w", l, err)
		}
		removed = append(removed, l)
	}
	for _, n := range []string{ReconcileUnit, ApplyUnit} {
		p := filepath.Join(dir, n)
		err := os.Remove(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return removed, fmt.Errorf("remove unit %s: %w", p, err)
		}
		removed = append(removed, p)
	}
	return removed, nil
}

// Booted reports whether systemd is PID 1 here: both sd_booted(3)'s test
// (/run/systemd/system exists) and /proc/1/comm naming systemd. Only then
// does tcptune talk to the service manager over D-Bus; in containers and
// tests it writes files and prints the commands instead.
func Booted() bool {
	if st, err := os.Stat("/run/systemd/system"); err != nil || !st.IsDir() {
		return false
	}
	comm, err := os.ReadFile("/proc/1/comm")
	return err == nil && strings.TrimSpace(string(comm)) == "systemd"
}

// EnableCommands are the commands an administrator runs when tcptune could
// not reach systemd itself.
func EnableCommands(names []string) []string {
	return []string{
		"systemctl daemon-reload",
		"systemctl enable --now " + strings.Join(names, " "),
	}
}

// DisableCommands finish an uninstall done without reaching systemd: the
// files and enablement links are gone, the running units are not.
func DisableCommands(names []string) []string {
	return []string{
		"systemctl stop " + strings.Join(names, " "),
		"systemctl daemon-reload",
	}
}
