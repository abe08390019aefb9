package sysctl

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestKnownKeysAreParseKeys holds every sysctl.Known call in the repository
// to ParseKey: Known does no check at run time, so this is where a typo in a
// table's name or path is caught. Calls must have literal arguments, or they
// could not be checked here.
func TestKnownKeysAreParseKeys(t *testing.T) {
	call := regexp.MustCompile(`\bKnown\(`)
	lit := regexp.MustCompile(`^Known\("([^"\\]*)", "([^"\\]*)"\)`)
	root := ".."
	checked := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "third_party", ".git", "testdata":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		src := string(b)
		for _, loc := range call.FindAllStringIndex(src, -1) {
			line := 1 + strings.Count(src[:loc[0]], "\n")
			rest := src[loc[0]:]
			if strings.HasPrefix(rest, "Known(name, path string)") || strings.HasPrefix(rest, "Known(%q") ||
				filepath.Base(path) == "known_test.go" {
				continue // the definition, format strings that print a call, and this test
			}
			m := lit.FindStringSubmatch(rest)
			if m == nil {
				t.Errorf("%s:%d: Known needs two string literals, so this test can check them", path, line)
				continue
			}
			if err := knownChecked(Known(m[1], m[2])); err != nil {
				t.Errorf("%s:%d: %v", path, line, err)
			}
			checked++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("checked %d Known keys; the catalog alone has more: is the walk finding the tables?", checked)
	}
}

func TestKnownChecked(t *testing.T) {
	if err := knownChecked(Known("net.core.somaxconn", "net/core/somaxconn")); err != nil {
		t.Fatal(err)
	}
	if err := knownChecked(Known("net.ipv4.conf.eth0/100.rp_filter", "net/ipv4/conf/eth0.100/rp_filter")); err != nil {
		t.Fatal(err)
	}
	for _, k := range []Key{
		Known("net.core.somaxconn", "net/core/somaxcon"),    // path typo
		Known("net.core..somaxconn", "net/core//somaxconn"), // not a key
		Known("net.ipv4.conf.eth0/100.rp_filter", "net/ipv4/conf/eth0/100/rp_filter"),
	} {
		if err := knownChecked(k); err == nil {
			t.Errorf("knownChecked(%q, %q) = nil, want an error", k.name, k.path)
		}
	}
}

// knownChecked reports whether k is exactly what ParseKey makes of its name:
// the check TestKnownKeysAreParseKeys makes of every Known call.
func knownChecked(k Key) error {
	p, err := ParseKey(k.name)
	if err != nil {
		return err
	}
	if p != k {
		return fmt.Errorf("%w: Known(%q, %q) is not ParseKey's (%q, %q)", ErrBadKey, k.name, k.path, p.name, p.path)
	}
	return nil
}
