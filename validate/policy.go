package validate

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

// ErrKeyNotAllowed marks a key outside what tcptune writes by default.
var ErrKeyNotAllowed = errors.New("key outside what tcptune may write")

// allowedNonNet are the keys outside net.* that tcptune writes by default:
// the file limits the seed's world needs next to the network stack.
var allowedNonNet = map[string]bool{
	"fs/file-max": true,
	"fs/nr_open":  true,
}

// KeyAllowed reports whether tcptune may write k by default: the network
// stack (net.*) and the few documented non-net keys (fs.file-max,
// fs.nr_open). It is the one write policy: profiles are judged by it before
// any write, and transaction records are judged by it when read back for a
// rollback. The error wraps ErrKeyNotAllowed.
func KeyAllowed(k sysctl.Key) error { return Policy{}.KeyAllowed(k) }

// Policy is the write policy with the operator's opt-in: Allow holds the
// grants of a trusted profile (its allow: list), each a dotted key or a
// prefix ending in ".*". The zero Policy is the default, KeyAllowed.
type Policy struct {
	Allow []string
}

// KeyAllowed reports whether p lets tcptune write k; the error wraps
// ErrKeyNotAllowed.
func (p Policy) KeyAllowed(k sysctl.Key) error {
	path := k.Path()
	if strings.HasPrefix(path, "net/") || allowedNonNet[path] {
		return nil
	}
	for _, a := range p.Allow {
		if AllowMatches(a, k) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s (tcptune writes net.* and fs.file-max, fs.nr_open)", ErrKeyNotAllowed, k)
}

// AllowMatches reports whether an allow: pattern (a key, or a prefix ending
// in ".*") covers k. Patterns are parsed as keys, so net/x and net.x, and
// systemd's dot/slash rule, compare alike.
func AllowMatches(pattern string, k sysctl.Key) bool {
	prefix, isPrefix := strings.CutSuffix(pattern, ".*")
	pk, err := sysctl.ParseKey(prefix)
	if err != nil {
		return false
	}
	if !isPrefix {
		return pk == k
	}
	return strings.HasPrefix(k.Path(), pk.Path()+"/")
}

// allowHint is the hint for a refused key: the explicit opt-in.
func allowHint(k sysctl.Key) string {
	return fmt.Sprintf("if tcptune should really write it, add 'allow: [%s]' to the profile; allow: is honoured only in a file owned by root and not writable by group or others (README: What a profile may write)", k)
}

// policy checks s against the write policy with the grants of the profile
// that set it. It reports false when the key is refused (an error was
// added) and the setting must not be checked further.
func (c *checker) policy(s profiles.Setting) bool {
	if KeyAllowed(s.Key) == nil {
		return true
	}
	src := c.source(s.Profile)
	if src != nil {
		for _, a := range src.Allow {
			if !AllowMatches(a.Pattern, s.Key) {
				continue
			}
			if src.Untrusted != "" {
				c.add(SevError, s, s.Pos, fmt.Sprintf("make the file owned by root and not writable by group or others (chown root %s; chmod go-w %s)", src.File, src.File),
					"outside what tcptune writes by default, and the allow: entry %q at %s is not honoured: the file is %s", a.Pattern, a.Pos, src.Untrusted)
				return false
			}
			return true
		}
	}
	c.add(SevError, s, s.Pos, allowHint(s.Key),
		"tcptune writes only net.*, fs.file-max and fs.nr_open by default; refusing %s", s.Key)
	return false
}

// source returns the profile named name among the resolved sources.
func (c *checker) source(name string) *profiles.Profile {
	for _, p := range c.r.Sources {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// CheckPolicy runs only the write policy over r: the check apply makes
// before anything else, whatever validator it was given, so no replacement
// of validation can let a refused key through.
func CheckPolicy(r *profiles.Resolved) []Diagnostic {
	if r == nil {
		return nil
	}
	c := &checker{r: r}
	for _, s := range r.Settings {
		c.policy(s)
	}
	sortDiagnostics(c.ds)
	return c.ds
}

// AbsentOK reports whether s may be absent on this kernel without refusing
// the profile: the setting has ignore-failure (sysctl.d's "-key"), or the
// key belongs to a module that may not be loaded (nf_conntrack). Apply
// skips such keys and diff shows them as absent.
func AbsentOK(s profiles.Setting) bool {
	if s.IgnoreFailure {
		return true
	}
	t, ok := Lookup(s.Key)
	return ok && t.Module != ""
}
