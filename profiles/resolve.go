package profiles

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tcptune/tcptune/sysctl"
)

// maxExtendsDepth bounds extends chains; real ones are one or two deep.
const maxExtendsDepth = 16

// Resolve composes profiles given by name or path into one setting per key.
// Order: for each reference, its extends (recursively, first to last), then
// the profile itself; references apply left to right. A profile reached
// twice applies once, at its first place. When two profiles set one key the
// later wins, except that two at-least settings keep the larger value and
// two at-most settings the smaller (field by field for vectors); every such
// meeting is recorded in Overrides.
func (l *Loader) Resolve(refs ...string) (*Resolved, error) {
	if len(refs) == 0 {
		return nil, fmt.Errorf("no profile given")
	}
	r := &Resolved{}
	var chain []*Profile
	seen := map[string]bool{}
	var visit func(p *Profile, stack []string) error
	visit = func(p *Profile, stack []string) error {
		for _, s := range stack {
			if s == p.Name {
				return fmt.Errorf("%s: profile %q extends itself through %s", p.File, p.Name, strings.Join(append(stack, p.Name), " -> "))
			}
		}
		if len(stack) >= maxExtendsDepth {
			return fmt.Errorf("%s: extends chain deeper than %d: %s", p.File, maxExtendsDepth, strings.Join(stack, " -> "))
		}
		for _, e := range p.Extends {
			parent, err := l.Get(e)
			if err != nil {
				return fmt.Errorf("%s: profile %q extends %q: %w", p.File, p.Name, e, err)
			}
			if err := visit(parent, append(stack, p.Name)); err != nil {
				return err
			}
		}
		if !seen[p.Name] {
			seen[p.Name] = true
			chain = append(chain, p)
		}
		return nil
	}
	for _, ref := range refs {
		p, err := l.Get(ref)
		if err != nil {
			return nil, err
		}
		r.Profiles = append(r.Profiles, p.Name)
		if err := visit(p, nil); err != nil {
			return nil, err
		}
	}
	byKey := map[sysctl.Key]Setting{}
	for _, p := range chain {
		r.Chain = append(r.Chain, p.Name)
		r.Sources = append(r.Sources, p)
		for _, s := range p.Settings {
			old, ok := byKey[s.Key]
			if !ok {
				byKey[s.Key] = s
				continue
			}
			merged, how := Merge(old, s)
			byKey[s.Key] = merged
			r.Overrides = append(r.Overrides, Override{
				Key: s.Key, From: old.Profile, FromValue: old.Value,
				By: s.Profile, ByValue: s.Value, Result: merged.Value, Resolution: how,
			})
		}
	}
	for _, s := range byKey {
		r.Settings = append(r.Settings, s)
	}
	slices.SortFunc(r.Settings, func(a, b Setting) int { return a.Key.Compare(b.Key) }) // not sort.Slice: its reflection costs more than the sort
	return r, nil
}

// Merge combines an earlier and a later setting of the same key and says how.
func Merge(earlier, later Setting) (Setting, string) {
	if earlier.Op == later.Op && (later.Op == OpAtLeast || later.Op == OpAtMost) {
		a, errA := earlier.Value.Ints()
		b, errB := later.Value.Ints()
		if errA == nil && errB == nil && len(a) == len(b) {
			out := make([]int64, len(a))
			fromEarlier := true
			for i := range a {
				pick := b[i]
				if (later.Op == OpAtLeast && a[i] > b[i]) || (later.Op == OpAtMost && a[i] < b[i]) {
					pick = a[i]
				}
				out[i] = pick
				if pick != a[i] {
					fromEarlier = false
				}
			}
			m := later
			m.Value = sysctl.IntsValue(out...)
			if fromEarlier {
				m.Reason, m.Profile, m.Pos, m.ValuePos = earlier.Reason, earlier.Profile, earlier.Pos, earlier.ValuePos
			}
			if later.Op == OpAtLeast {
				return m, "larger kept"
			}
			return m, "smaller kept"
		}
	}
	return later, "later wins"
}

// ResolveProfiles resolves already decoded profiles (not from the Loader's
// sources), for callers that produced a profile themselves (import). Their
// extends are looked up through l.
func (l *Loader) ResolveProfiles(ps ...*Profile) (*Resolved, error) {
	if err := l.load(); err != nil {
		return nil, err
	}
	var refs []string
	for _, p := range ps {
		l.all[p.Name] = p
		refs = append(refs, p.Name)
	}
	return l.Resolve(refs...)
}
