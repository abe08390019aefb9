package validate

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

// Tuned paths. tuned reads the active profile's name from ActiveProfile, the
// profile from /etc/tuned/NAME/tuned.conf (the admin's) before
// /usr/lib/tuned/NAME/tuned.conf (the package's; tuned >= 2.23 also uses a
// profiles/ subdirectory of both), and its daemon settings, reapply_sysctl
// among them, from tuned-main.conf.
const (
	DefaultTunedEtc = "/etc/tuned"
	DefaultTunedLib = "/usr/lib/tuned"
)

// TunedAssignment is one key of a tuned [sysctl] section.
type TunedAssignment struct {
	Value string
	File  string
	Line  int
}

// Tuned is what tcptune knows of tuned here: the active profile and the
// sysctls its [sysctl] sections set (include= followed), and whether tuned
// re-applies sysctl.d after them.
type Tuned struct {
	Profile string // the active profile(s) as written in active_profile; "" when none
	// ReapplySysctl is tuned-main.conf's reapply_sysctl (default true): tuned
	// applies its [sysctl] values, then re-applies /run/sysctl.d,
	// /etc/sysctl.d and /etc/sysctl.conf over them.
	ReapplySysctl bool
	// Running is true when tuned's PID file exists.
	Running bool
	sysctl  map[sysctl.Key]TunedAssignment
}

// Active reports whether a tuned profile is selected.
func (t *Tuned) Active() bool { return t != nil && t.Profile != "" }

// Sets returns tuned's assignment of k, if any.
func (t *Tuned) Sets(k sysctl.Key) (TunedAssignment, bool) {
	a, ok := t.sysctl[k]
	return a, ok
}

// Keys returns the keys tuned sets, sorted.
func (t *Tuned) Keys() []sysctl.Key {
	out := make([]sysctl.Key, 0, len(t.sysctl))
	for k := range t.sysctl {
		out = append(out, k)
	}
	sortKeys(out)
	return out
}

// Precedence says who wins, in words.
func (t *Tuned) Precedence() string {
	state := "tuned is not running now, but applies it when it starts"
	if t.Running {
		state = "tuned is running"
	}
	if t.ReapplySysctl {
		return state + "; with reapply_sysctl = 1 tuned re-applies sysctl.d after its own values, so a persisted tcptune value wins at tuned's start, but a value applied with --no-persist is overwritten"
	}
	return state + "; with reapply_sysctl = 0 tuned's value overrides tcptune's (persisted or not) whenever tuned starts or switches profile"
}

// Hint is how to end the conflict.
func (t *Tuned) Hint() string {
	return "set each key in one tool: remove it from the tuned profile's [sysctl] section (a custom profile under " + DefaultTunedEtc + "), or from the tcptune profile"
}

// TunedPaths locate tuned's files; tests point them at temp dirs.
type TunedPaths struct {
	Etc string   // /etc/tuned: active_profile, tuned-main.conf, admin profiles
	Lib []string // package profile directories, searched after Etc
	Run string   // /run/tuned: tuned.pid
}

// ReadTuned reads tuned's configuration. It returns a Tuned with Profile ""
// when tuned is not installed or no profile is active, and an error only
// when a file exists but cannot be read.
func ReadTuned(p TunedPaths) (*Tuned, error) {
	if p.Etc == "" {
		p.Etc = DefaultTunedEtc
	}
	if p.Lib == nil {
		p.Lib = []string{DefaultTunedLib}
	}
	if p.Run == "" {
		p.Run = "/run/tuned"
	}
	t := &Tuned{ReapplySysctl: true, sysctl: map[sysctl.Key]TunedAssignment{}}
	active, err := readSmall(filepath.Join(p.Etc, "active_profile"))
	if errors.Is(err, fs.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return nil, err
	}
	t.Profile = strings.TrimSpace(string(active))
	if t.Profile == "" {
		return t, nil
	}
	if main, err := readSmall(filepath.Join(p.Etc, "tuned-main.conf")); err == nil {
		if v, ok := iniValue(main, "", "reapply_sysctl"); ok {
			t.ReapplySysctl = !(v == "0" || strings.EqualFold(v, "false"))
		}
	}
	if _, err := os.Stat(filepath.Join(p.Run, "tuned.pid")); err == nil {
		t.Running = true
	}
	dirs := []string{p.Etc, filepath.Join(p.Etc, "profiles")}
	for _, l := range p.Lib {
		dirs = append(dirs, l, filepath.Join(l, "profiles"))
	}
	// active_profile may name several profiles, merged left to right;
	// include= parents come before the profile.
	seen := map[string]bool{}
	var load func(name string, depth int) error
	load = func(name string, depth int) error {
		if seen[name] || depth > 16 || strings.ContainsAny(name, "/\x00") || name == ".." || name == "." {
			return nil
		}
		seen[name] = true
		for _, d := range dirs {
			file := filepath.Join(d, name, "tuned.conf")
			data, err := readSmall(file)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			if inc, ok := iniValue(data, "main", "include"); ok {
				for _, parent := range strings.FieldsFunc(inc, func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
					if err := load(parent, depth+1); err != nil {
						return err
					}
				}
			}
			t.readSysctl(file, data)
			return nil
		}
		return nil
	}
	for _, name := range strings.Fields(t.Profile) {
		if err := load(name, 0); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// readSysctl records the [sysctl] section of one tuned.conf.
func (t *Tuned) readSysctl(file string, data []byte) {
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
			continue
		case line[0] == '[':
			section = strings.Trim(line, "[] ")
			continue
		case section != "sysctl":
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		key, err := sysctl.ParseKey(strings.TrimSpace(k))
		if err != nil {
			continue
		}
		t.sysctl[key] = TunedAssignment{Value: strings.Trim(strings.TrimSpace(v), `"'`), File: file, Line: n}
	}
}

// iniValue finds key in section ("" = anywhere) of an INI file.
func iniValue(data []byte, section, key string) (string, bool) {
	cur := ""
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			cur = strings.Trim(line, "[] ")
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if ok && strings.TrimSpace(k) == key && (section == "" || cur == section) {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// readSmall reads a configuration file, never blocking on a FIFO.
func readSmall(path string) ([]byte, error) { return profiles.ReadRegular(path, "tuned file") }

func sortKeys(ks []sysctl.Key) { slices.SortFunc(ks, sysctl.Key.Compare) }
