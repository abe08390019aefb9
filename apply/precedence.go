package apply

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/tcptune/tcptune/internal/safefile"
	"github.com/tcptune/tcptune/sysctl"
)

// Precedence says which assignment of one persisted key wins at boot under
// each of the two loaders. A nil winner means nothing sets the key.
type Precedence struct {
	Key   sysctl.Key   `json:"key"`
	Value sysctl.Value `json:"value"` // what tcptune persists
	// Systemd is the winner for systemd-sysctl (sysctl.d(5)): directories
	// in order, a file masks later files of the same name, files sorted by
	// name, later assignments win, an explicit key beats a glob.
	Systemd *Assignment `json:"systemd"`
	// Procps is the winner for `sysctl --system` (procps-ng 4): the same
	// directories and masking by name, then /etc/sysctl.conf last; like
	// systemd, a glob never overrides a key some file sets explicitly
	// (measured with procps-ng 4.0.2 by boottest.TestPrecedenceOracle).
	Procps *Assignment `json:"procps"`
}

// Orders, as they appear in Override.Order.
const (
	OrderSystemd = "systemd"
	OrderProcps  = "procps"
)

// confFile is one file a loader reads, in order.
type confFile struct {
	path string
	data []byte
}

// bootConfig reads the sysctl.d directories. overlayPath/overlay replace (or
// add) one file, so the report can be made before the file is written.
type bootConfig struct {
	dirs        []string
	sysctlConf  string
	overlayPath string
	overlay     []byte // nil: no overlay
	// warn, when set, hears of files skipped (not regular, dangling link).
	warn func(string)
}

func (b bootConfig) skipped(p string, err error) {
	if b.warn != nil && !isDevNullLink(p) {
		b.warn(fmt.Sprintf("%s skipped for the precedence report: %v (it sets nothing at boot)", p, err))
	}
}

// read reads one sysctl.d file without blocking (a FIFO is refused, not
// waited on) and at most maxConfSize bytes; symlinks are followed, as the
// loaders follow them.
func (b bootConfig) read(p string) ([]byte, error) {
	if b.overlay != nil && p == b.overlayPath {
		return b.overlay, nil
	}
	return safefile.ReadFile(p, maxConfSize, safefile.FollowLinks)
}

// skippable reports whether the loaders pass over a file that cannot be
// read: a dangling symlink (systemd-sysctl and procps skip it with a
// warning) or something that is not a regular file (a FIFO, which tcptune
// never waits on). Such a file sets nothing at boot.
func skippable(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, safefile.ErrNotRegular)
}

// systemdFiles lists the files systemd-sysctl reads, in order; masked files
// (a /dev/null link or an empty file) are dropped after masking their name.
func (b bootConfig) systemdFiles() ([]confFile, error) {
	byName := map[string]string{}
	for _, d := range b.dirs {
		names, err := safefile.ReadDirNames(d)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case errors.Is(err, syscall.ENOTDIR):
			b.skipped(d, err) // a FIFO or a file where a directory belongs
		case err != nil:
			return nil, fmt.Errorf("read %s: %w", d, err)
		}
		if b.overlay != nil && filepath.Dir(b.overlayPath) == filepath.Clean(d) {
			names = append(names, filepath.Base(b.overlayPath))
		}
		for _, n := range names {
			if !strings.HasSuffix(n, ".conf") || strings.HasPrefix(n, ".") {
				continue
			}
			if _, ok := byName[n]; !ok {
				byName[n] = filepath.Join(d, n)
			}
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []confFile
	for _, n := range names {
		p := byName[n]
		data, err := b.read(p)
		if err != nil {
			if isDevNullLink(p) || skippable(err) {
				b.skipped(p, err)
				continue
			}
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		if isNullOrEmpty(data) {
			continue // masked
		}
		out = append(out, confFile{path: p, data: data})
	}
	return out, nil
}

// procpsFiles is systemdFiles plus /etc/sysctl.conf last, when it is a
// regular file (procps-ng sysctl.c, PreloadSystem). procps reads a
// /dev/null link as an empty file, which masks the same way.
func (b bootConfig) procpsFiles() ([]confFile, error) {
	files, err := b.systemdFiles()
	if err != nil {
		return nil, err
	}
	if b.sysctlConf == "" {
		return files, nil
	}
	data, err := safefile.ReadFile(b.sysctlConf, maxConfSize, safefile.FollowLinks)
	switch {
	case err == nil:
		files = append(files, confFile{path: b.sysctlConf, data: data})
	case skippable(err):
	default:
		return nil, fmt.Errorf("read %s: %w", b.sysctlConf, err)
	}
	return files, nil
}

func isDevNullLink(p string) bool {
	t, err := os.Readlink(p)
	return err == nil && t == "/dev/null"
}

func assignments(files []confFile) ([]Assignment, error) {
	var out []Assignment
	for _, f := range files {
		as, err := parseConf(f.path, strings.NewReader(string(f.data)))
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", f.path, err)
		}
		out = append(out, as...)
	}
	return out, nil
}

// winner returns the last assignment of key; with explicitFirst (systemd,
// procps-ng 4) an explicit assignment anywhere beats every glob.
func winner(as []Assignment, ms []keyMatcher, key sysctl.Key, explicitFirst bool) *Assignment {
	var last, lastExplicit *Assignment
	for i := range as {
		hit, glob := ms[i].match(key)
		if !hit {
			continue
		}
		last = &as[i]
		if !glob {
			lastExplicit = &as[i]
		}
	}
	if explicitFirst && lastExplicit != nil {
		return lastExplicit
	}
	return last
}

// matchers are the keyMatchers of as, in order.
func matchers(as []Assignment) []keyMatcher {
	ms := make([]keyMatcher, len(as))
	for i := range as {
		ms[i] = as[i].matcher()
	}
	return ms
}

// precedenceReport computes, for each persisted key, the winner under both
// loaders, and the overrides: winners that are not in ownedPath.
func (b bootConfig) precedenceReport(keys []Original) ([]Precedence, []Override, error) {
	sf, err := b.systemdFiles()
	if err != nil {
		return nil, nil, err
	}
	pf, err := b.procpsFiles()
	if err != nil {
		return nil, nil, err
	}
	sa, err := assignments(sf)
	if err != nil {
		return nil, nil, err
	}
	pa, err := assignments(pf)
	if err != nil {
		return nil, nil, err
	}
	sm, pm := matchers(sa), matchers(pa)
	var rep []Precedence
	var ovr []Override
	for _, k := range keys {
		p := Precedence{Key: k.Key, Value: k.Target, Systemd: winner(sa, sm, k.Key, true), Procps: winner(pa, pm, k.Key, true)}
		rep = append(rep, p)
		for _, w := range []struct {
			order string
			a     *Assignment
		}{{OrderSystemd, p.Systemd}, {OrderProcps, p.Procps}} {
			if w.a == nil {
				// The owned file is not read at boot at all (a directory
				// outside the search path): report it as overridden by nothing.
				ovr = append(ovr, Override{Key: k.Key, Order: w.order, Winner: Assignment{File: "(not read at boot)"}})
				continue
			}
			if w.a.File != b.overlayPath {
				ovr = append(ovr, Override{Key: k.Key, Order: w.order, Winner: *w.a, SameValue: w.a.Value == k.Target})
			}
		}
	}
	return rep, ovr, nil
}
