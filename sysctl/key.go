// Package sysctl is tcptune's interface to the kernel's sysctl tree.
//
// It owns three things and nothing else:
//
//   - Key: a validated sysctl name. Names are accepted in dotted form
//     (net.ipv4.tcp_rmem) or slash form (net/ipv4/tcp_rmem) and follow
//     systemd's rule for components that contain dots, such as the interface
//     eth0.100: in dotted form the dot inside the component is written as a
//     slash (net.ipv4.conf.eth0/100.forwarding), see sysctl.d(5).
//   - Value: a whitespace-normalised value, so "4096\t131072\t6291456" from
//     the kernel equals "4096 131072 6291456" from a profile.
//   - FS: reads and writes under a configurable root (/proc/sys, or a temp
//     dir in tests) through os.Root, so no key can reach a file outside it,
//     and classifies errors (not present, read-only, rejected, permission).
//
// This package imports nothing else of tcptune.
package sysctl

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unsafe"
)

// Key is a validated sysctl name. Its zero value is not a valid key; build
// keys with ParseKey or MustKey.
//
// Key is comparable and can be used as a map key.
type Key struct {
	// path is the slash-separated path below the sysctl root; for
	// net.ipv4.conf.eth0/100.forwarding it is net/ipv4/conf/eth0.100/forwarding.
	path string
	// name is the canonical dotted name, computed once by ParseKey (String is
	// called for every map lookup and message; it used to rebuild the name
	// each time). It is a function of path, so == and map keys still compare
	// paths.
	name string
}

// ErrBadKey is wrapped by every error ParseKey returns.
var ErrBadKey = errors.New("invalid sysctl key")

// maxKeyLen bounds a key; the longest names in the kernel are well under 128.
const maxKeyLen = 256

// ParseKey validates and normalises a sysctl name given in dotted or slash
// form. It rejects anything that could name a file outside the sysctl root or
// break a line-oriented file: empty names and components, "." and "..",
// absolute names, whitespace, control characters, glob characters and '='.
func ParseKey(s string) (Key, error) {
	if p, ok := simpleDotted(s); ok {
		return Key{path: p, name: s}, nil
	}
	return parseKeyFull(s)
}

// parseKeyFull is ParseKey without the fast path.
func parseKeyFull(s string) (Key, error) {
	bad := func(why string) (Key, error) {
		return Key{}, fmt.Errorf("%w %q: %s", ErrBadKey, s, why)
	}
	if s == "" {
		return bad("empty name")
	}
	if len(s) > maxKeyLen {
		return bad(fmt.Sprintf("longer than %d characters", maxKeyLen))
	}
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == 0:
			return bad("contains a line break or NUL")
		case unicode.IsControl(r):
			return bad("contains a control character")
		case unicode.IsSpace(r):
			return bad("contains whitespace")
		case r == '=' || r == '*' || r == '?' || r == '[' || r == ']' || r == '\\':
			return bad(fmt.Sprintf("contains %q, which is not allowed in a key", r))
		case r > unicode.MaxASCII:
			return bad("contains a non-ASCII character")
		}
	}
	if s[0] == '/' {
		return bad("absolute paths are not keys; give the name below /proc/sys, e.g. net.core.somaxconn")
	}
	// systemd's rule (sysctl_normalize): the first separator decides. If it is
	// a slash the name is already a path; if it is a dot, dots separate
	// components and slashes stand for dots inside a component.
	var parts []string
	if i := strings.IndexAny(s, "./"); i >= 0 && s[i] == '.' {
		for _, p := range strings.Split(s, ".") {
			parts = append(parts, strings.ReplaceAll(p, "/", "."))
		}
	} else {
		parts = strings.Split(s, "/")
	}
	for _, p := range parts {
		switch p {
		case "":
			return bad("empty component")
		case ".", "..":
			return bad(fmt.Sprintf("component %q is not allowed", p))
		}
	}
	p := strings.Join(parts, "/")
	return Key{path: p, name: dottedName(p)}, nil
}

// simpleDotted is ParseKey's fast path for the common name: dotted, made
// only of [A-Za-z0-9_-], no empty component. Its path is the name with dots
// turned into slashes. Anything else takes the full checks. (Every catalog
// entry and profile key goes through here: a table look-up per byte and one
// copy, a tenth of what a switch per byte and strings.ReplaceAll cost.)
func simpleDotted(s string) (string, bool) {
	if s == "" || len(s) > maxKeyLen || s[0] == '.' || s[len(s)-1] == '.' {
		return "", false
	}
	b := make([]byte, len(s))
	dots := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case keyByte[c]:
			b[i] = c
		case c == '.' && s[i-1] != '.':
			b[i] = '/'
			dots++
		default:
			return "", false
		}
	}
	if dots == 0 {
		return "", false // one component: let the full path decide
	}
	return unsafe.String(&b[0], len(b)), true // b is not written again
}

// keyByte marks the bytes of a simple key component: [A-Za-z0-9_-].
var keyByte = [256]bool{
	'-': true, '_': true,
	'0': true, '1': true, '2': true, '3': true, '4': true, '5': true, '6': true, '7': true, '8': true, '9': true,
	'a': true, 'b': true, 'c': true, 'd': true, 'e': true, 'f': true, 'g': true, 'h': true, 'i': true, 'j': true,
	'k': true, 'l': true, 'm': true, 'n': true, 'o': true, 'p': true, 'q': true, 'r': true, 's': true, 't': true,
	'u': true, 'v': true, 'w': true, 'x': true, 'y': true, 'z': true,
	'A': true, 'B': true, 'C': true, 'D': true, 'E': true, 'F': true, 'G': true, 'H': true, 'I': true, 'J': true,
	'K': true, 'L': true, 'M': true, 'N': true, 'O': true, 'P': true, 'Q': true, 'R': true, 'S': true, 'T': true,
	'U': true, 'V': true, 'W': true, 'X': true, 'Y': true, 'Z': true,
}

// Known is the key ParseKey(name) returns, given with its path, for tables
// written in Go (the kernel catalog, the generated built-in profiles,
// package-level keys): it does no work at run time, so start-up does not
// parse keys no command asks for. name must be canonical and path its
// /proc/sys path; TestKnownKeysAreParseKeys holds every Known key to ParseKey.
func Known(name, path string) Key { return Key{path: path, name: name} }

// MustKey is ParseKey for names known at compile time; it panics on error.
func MustKey(s string) Key {
	k, err := ParseKey(s)
	if err != nil {
		panic(err)
	}
	return k
}

// String returns the canonical dotted name, with dots inside a component
// written as slashes (systemd's rule), e.g. net.ipv4.conf.eth0/100.forwarding.
func (k Key) String() string { return k.name }

// dottedName turns a path into the canonical dotted name.
func dottedName(path string) string {
	if strings.IndexByte(path, '.') < 0 {
		return strings.ReplaceAll(path, "/", ".")
	}
	parts := strings.Split(path, "/")
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = strings.ReplaceAll(p, ".", "/")
	}
	return strings.Join(out, ".")
}

// Path returns the slash-separated path relative to the sysctl root,
// e.g. net/ipv4/conf/eth0.100/forwarding.
func (k Key) Path() string { return k.path }

// IsZero reports whether k is the zero Key.
func (k Key) IsZero() bool { return k.path == "" }

// Base returns the last component, e.g. somaxconn.
func (k Key) Base() string { return k.path[strings.LastIndexByte(k.path, '/')+1:] }

// Compare orders keys by path, for deterministic output and write order.
func (k Key) Compare(o Key) int { return strings.Compare(k.path, o.path) }

// MarshalText implements encoding.TextMarshaler with the dotted name.
func (k Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler through ParseKey.
func (k *Key) UnmarshalText(b []byte) error {
	p, err := ParseKey(string(b))
	if err != nil {
		return err
	}
	*k = p
	return nil
}
