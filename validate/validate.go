package validate

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

// Validate checks a resolved profile: each key against the catalog (known,
// not removed, value of the right shape and within the kernel's bounds),
// then the rules that span several keys (rules.go), then, when k is not nil,
// the running kernel (kernel.go). Diagnostics carry the setting's position:
// the value's for value problems, the key's for key problems. They are
// sorted by file, line, column, severity, key and message, so the output is
// stable.
func Validate(r *profiles.Resolved, k *Kernel) []Diagnostic {
	if r == nil {
		return nil
	}
	c := &checker{r: r, k: k}
	c.shadows()
	for _, s := range r.Settings {
		c.setting(s)
	}
	c.rules()
	if k != nil {
		c.hazards()
	}
	sortDiagnostics(c.ds)
	return c.ds
}

// checker accumulates diagnostics for one Validate call.
type checker struct {
	r  *profiles.Resolved
	k  *Kernel
	ds []Diagnostic

	// kernelKeys is the kernel's key list for did-you-mean, read once and
	// only when an unknown key needs it.
	kernelKeys []sysctl.Key
	listed     bool
	// suggested counts the unknown keys given a did-you-mean, which is
	// bounded (maxSuggestedKeys) so a huge profile stays fast.
	suggested int
}

// maxSuggestedKeys bounds how many unknown keys get a did-you-mean: past
// a few dozen the list is noise, and each costs a scan of the catalog and
// the kernel's keys.
const maxSuggestedKeys = 32

// shadows warns for every profile of the composition that hides another of
// the same name (a user profile named like a built-in): every command that
// loads it says so.
func (c *checker) shadows() {
	for _, p := range c.r.Sources {
		if p.Shadows == "" {
			continue
		}
		what := "another profile"
		if strings.HasPrefix(p.Shadows, "builtin/") {
			what = "the built-in profile"
		}
		c.ds = append(c.ds, Diagnostic{
			Severity: SevWarning, Pos: profiles.Pos{File: p.File}, Profile: p.Name,
			Message: fmt.Sprintf("profile %q from %s shadows %s of the same name (%s)", p.Name, p.File, what, p.Shadows),
			Hint:    "rename the file (and its name: field) if you meant a new profile; 'tcptune list' shows which one is used",
		})
	}
}

func (c *checker) add(sev Severity, s profiles.Setting, pos profiles.Pos, hint, format string, args ...any) {
	c.ds = append(c.ds, Diagnostic{
		Severity: sev, Key: s.Key.String(), Pos: pos, Profile: s.Profile,
		Message: fmt.Sprintf(format, args...), Hint: hint,
	})
}

func (c *checker) setting(s profiles.Setting) {
	if !c.policy(s) {
		return
	}
	t, known := Lookup(s.Key)
	switch {
	case !known:
		c.unknown(s)
		return
	case t.Removed():
		c.add(SevError, s, s.Pos, t.RemovedHint, "removed from the kernel in Linux %s", t.RemovedIn)
		return
	}
	c.value(t, s)
	if c.k != nil {
		c.kernel(s, &t)
	}
}

// unknown reports a key outside the catalog that the policy allows (net.*,
// or granted): a warning for every command alike, since the kernel judges
// the value on apply and tcptune reads it back. With --kernel the key must
// also exist here.
func (c *checker) unknown(s profiles.Setting) {
	hint := "the kernel judges the value when it is applied, and apply reads it back"
	if c.k == nil || c.k.FS == nil {
		if sug := c.suggest(s.Key); len(sug) > 0 {
			hint = "if this is a typo, did you mean " + strings.Join(sug, " or ") + "? Otherwise " + hint
		}
	} else if ok, err := c.k.FS.Exists(s.Key); err == nil && !ok && !s.IgnoreFailure {
		hint = "check the spelling; this kernel has no such key either"
		if sug := c.suggest(s.Key); len(sug) > 0 {
			hint = "did you mean " + strings.Join(sug, " or ") + "?"
		}
		c.add(SevError, s, s.Pos, hint, "unknown sysctl key: not in tcptune's catalog and not present on this kernel (%s)", c.k.FS.FullPath(s.Key))
		return
	}
	c.add(SevWarning, s, s.Pos, hint, "not in tcptune's catalog; its value is not checked")
	c.intSyntax(s, SevWarning)
	if c.k != nil {
		c.kernel(s, nil)
	}
}

// suggest returns did-you-mean names for an unknown key, for the first
// maxSuggestedKeys unknown keys only.
func (c *checker) suggest(k sysctl.Key) []string {
	if c.suggested >= maxSuggestedKeys {
		return nil
	}
	c.suggested++
	return Suggest(k.String(), c.listKernelKeys(k)...)
}

// listKernelKeys lists the running kernel's keys under the first component
// of k (net, fs, ...), once; nil without --kernel or when listing fails.
func (c *checker) listKernelKeys(k sysctl.Key) []sysctl.Key {
	if c.k == nil || c.k.FS == nil {
		return nil
	}
	if !c.listed {
		c.listed = true
		top, _, _ := strings.Cut(k.Path(), "/")
		if tk, err := sysctl.ParseKey(top); err == nil {
			c.kernelKeys, _ = c.k.FS.List(tk)
		}
	}
	return c.kernelKeys
}

// value checks the shape and bounds of a known key's value.
func (c *checker) value(t Tunable, s profiles.Setting) {
	// The hint and the field's name are built only for a diagnostic: most
	// values are fine, and diff validates every key on each run.
	hint := func() string {
		h := s.Key.String() + " takes " + t.Bounds()
		if t.Unit != "" && t.Type != TypeString && t.Type != TypePorts {
			h += " (" + t.Unit + ")"
		}
		return h
	}
	switch t.Type {
	case TypeString:
		c.stringValue(t, s)
		return
	case TypePorts:
		c.portsValue(s, hint())
		return
	}
	if !c.intSyntax(s, SevError) {
		return
	}
	ns, err := s.Value.Ints()
	if err != nil {
		if t.Type == TypeVector {
			c.add(SevError, s, s.ValuePos, hint(), "%s", err)
		} else {
			c.add(SevError, s, s.ValuePos, hint(), "%q is not an integer", string(s.Value))
		}
		return
	}
	want := 1
	if t.Type == TypeVector {
		want = t.Fields
	}
	if len(ns) != want {
		c.add(SevError, s, s.ValuePos, hint(), "takes %d integer%s, got %d (%q)", want, plural(want), len(ns), string(s.Value))
		return
	}
	for i, n := range ns {
		what := func() string {
			if t.Type == TypeVector {
				return t.fieldName(i) + " " + strconv.FormatInt(n, 10)
			}
			return strconv.FormatInt(n, 10)
		}
		switch {
		case t.Type == TypeBool && n != 0 && n != 1:
			c.add(SevError, s, s.ValuePos, hint(), "takes 0 or 1, got %d", n)
		case t.Min != nil && n < *t.Min:
			c.add(SevError, s, s.ValuePos, hint(), "%s is below the kernel's minimum %d", what(), *t.Min)
		case t.Max != nil && n > *t.Max:
			c.add(SevError, s, s.ValuePos, hint(), "%s is above the kernel's maximum %d", what(), *t.Max)
		case len(t.Values) > 0 && !slices.Contains(t.Values, n):
			c.add(SevWarning, s, s.ValuePos, fmt.Sprintf("use one of %s; see %s", joinInts(t.Values), docRef),
				"%d is accepted by the kernel but is not a documented value", n)
		case t.UsefulMin != nil && n < *t.UsefulMin:
			c.add(SevWarning, s, s.ValuePos, fmt.Sprintf("use at least %d", *t.UsefulMin),
				"%s is accepted by the kernel but makes no sense for a value in %s", what(), t.Unit)
		}
	}
}

// docRef is where the meanings of enumerated values are written.
const docRef = "Documentation/networking/ip-sysctl.rst"

// stringValue checks a name such as a congestion control algorithm: one
// word of at most 15 bytes (TCP_CA_NAME_MAX is 16 with the NUL).
func (c *checker) stringValue(t Tunable, s profiles.Setting) {
	v := string(s.Value)
	hint := fmt.Sprintf("%s takes one name such as %q", s.Key, string(t.Default))
	switch {
	case len(s.Value.Fields()) != 1:
		c.add(SevError, s, s.ValuePos, hint, "takes one name, got %q", v)
	case len(v) > 15:
		c.add(SevError, s, s.ValuePos, hint, "name %q is longer than the kernel's 15 bytes", v)
	}
}

// portsValue checks a port list; a list the kernel would print differently
// is a warning, since diff would then report drift after every apply.
func (c *checker) portsValue(s profiles.Setting, hint string) {
	rs, err := parsePorts(string(s.Value))
	if err != nil {
		c.add(SevError, s, s.ValuePos, hint, "%s", err)
		return
	}
	if canon := canonicalPorts(rs); canon != string(s.Value) {
		c.add(SevWarning, s, s.ValuePos, fmt.Sprintf("write it as %q", canon),
			"the kernel prints this list as %q, so diff would report drift after every apply", canon)
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func joinInts(ns []int64) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}

var sevRank = map[Severity]int{SevError: 0, SevWarning: 1, SevNote: 2}

func sortDiagnostics(ds []Diagnostic) {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		switch {
		case a.Pos.File != b.Pos.File:
			return a.Pos.File < b.Pos.File
		case a.Pos.Line != b.Pos.Line:
			return a.Pos.Line < b.Pos.Line
		case a.Pos.Column != b.Pos.Column:
			return a.Pos.Column < b.Pos.Column
		case a.Severity != b.Severity:
			return sevRank[a.Severity] < sevRank[b.Severity]
		case a.Key != b.Key:
			return a.Key < b.Key
		}
		return a.Message < b.Message
	})
}
