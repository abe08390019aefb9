package apply

import (
	"bufio"
	"bytes"
	"io"
	"path"
	"strings"

	"github.com/tcptune/tcptune/sysctl"
)

// parseConf parses a sysctl.d file the way systemd-sysctl and procps do:
// "key = value" per line, '#' and ';' start comments, a leading '-' on the
// key means "ignore a failed write", and a key may be a glob. Lines that are
// not assignments are ignored, as both tools ignore them (with a warning).
func parseConf(file string, r io.Reader) ([]Assignment, error) {
	var out []Assignment
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20) // grows to the longest line (up to 1 MiB); most files are a few hundred bytes
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		a := Assignment{File: file, Line: n, Value: sysctl.Normalize(v)}
		if strings.HasPrefix(k, "-") {
			a.IgnoreFailure = true
			k = strings.TrimSpace(k[1:])
		}
		if k == "" {
			continue
		}
		a.Key = k
		out = append(out, a)
	}
	return out, sc.Err()
}

// confPath turns a key as written in a sysctl.d file (possibly a glob) into a
// slash path below /proc/sys, with systemd's dot/slash rule: when the first
// separator is a dot, dots separate components and slashes stand for dots
// inside one (sysctl.d(5)).
func confPath(k string) string {
	if i := strings.IndexAny(k, "./"); i >= 0 && k[i] == '.' {
		parts := strings.Split(k, ".")
		for j, p := range parts {
			parts[j] = strings.ReplaceAll(p, "/", ".")
		}
		return strings.Join(parts, "/")
	}
	return k
}

func isGlob(k string) bool { return strings.ContainsAny(k, "*?[") }

// matches reports whether the assignment sets key, and whether by glob.
// Globs match per path component, as systemd's glob(3) over /proc/sys does.
// keyMatcher is an assignment's key made ready to compare: its path (or
// pattern) computed once, not for every key it is compared with (the
// precedence report compares every persisted key with every line of every
// sysctl.d file).
type keyMatcher struct {
	path string
	glob bool
}

func (a Assignment) matcher() keyMatcher {
	return keyMatcher{path: confPath(a.Key), glob: isGlob(a.Key)}
}

func (m keyMatcher) match(key sysctl.Key) (hit, glob bool) {
	if m.glob {
		ok, err := path.Match(m.path, key.Path())
		return ok && err == nil, true
	}
	return m.path == key.Path(), false
}

// isNullOrEmpty reports whether a file's bytes mask it (systemd treats a
// symlink to /dev/null, and an empty file, as masking).
func isNullOrEmpty(b []byte) bool { return len(bytes.TrimSpace(b)) == 0 }
