// Package apply turns a resolved profile into changes on the kernel.
//
// A Plan is the diff of a profile against live values: a value that can be
// printed, saved and applied. Its Before values are what rollback restores.
package apply

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
	"github.com/tcptune/tcptune/validate"
)

// Action says what applying a plan does to one key.
type Action string

const (
	// ActionSet: the live value differs and will be written.
	ActionSet Action = "set"
	// ActionUnchanged: the live value already equals the desired one.
	ActionUnchanged Action = "unchanged"
	// ActionSatisfied: an at-least/at-most setting the live value already
	// meets (an admin raised it further); it is left alone.
	ActionSatisfied Action = "satisfied"
	// ActionAbsent: this kernel has no such key.
	ActionAbsent Action = "absent"
	// ActionHostWide: a host-wide key seen from a child network namespace
	// (a container); not settable here, and not a failure of the profile.
	ActionHostWide Action = "host-wide"
)

// Change is the plan for one key.
type Change struct {
	Key     sysctl.Key   `json:"key"`
	Before  sysctl.Value `json:"before"` // "" when absent
	After   sysctl.Value `json:"after"`  // what will be live afterwards
	Desired sysctl.Value `json:"desired"`
	Op      profiles.Op  `json:"op"`
	Action  Action       `json:"action"`
	Reason  string       `json:"reason,omitempty"`
	Profile string       `json:"profile"`
	// Note explains an absent or host-wide key.
	Note string `json:"note,omitempty"`
	// AbsentOK: the key may be absent without refusing the apply (the
	// setting has ignore-failure, or a module such as nf_conntrack provides
	// the key); see validate.AbsentOK.
	AbsentOK bool `json:"absent_ok,omitempty"`
}

// Plan is the diff of a resolved profile against the live kernel. diff
// prints it, diff --out saves it (planfile.go), Apply and ApplyPlan execute
// it, and reconcile's drift check is one: the same value everywhere.
type Plan struct {
	// Format is set in a saved plan file (PlanFormat).
	Format int `json:"format,omitempty"`
	// Version is the tcptune that made the plan, Created when, SysctlRoot
	// against which tree (set by Stamp; a saved plan carries them).
	Version    string     `json:"tcptune_version,omitempty"`
	Created    *time.Time `json:"created,omitempty"`
	SysctlRoot string     `json:"sysctl_root,omitempty"`
	Profiles   []string   `json:"profiles"`
	// Digest identifies the resolved settings the plan was made from
	// (Digest); a saved plan whose profile resolves differently now is
	// refused. NewPlan leaves it empty: MarshalJSON fills it in when the
	// plan is saved, recorded or printed as JSON, so a text diff, which
	// shows none, does not hash the profile.
	Digest string `json:"digest,omitempty"`
	// NetnsKind is the namespace kind the plan was made for ("initial",
	// "child"): it decides which keys are host-wide.
	NetnsKind string   `json:"netns_kind,omitempty"`
	Changes   []Change `json:"changes"` // sorted by key path

	// resolved is the profile the plan was computed from (NewPlan) or
	// checked against (Bind); ApplyPlan validates it.
	resolved *profiles.Resolved
}

// Stamp records who made the plan, when and against which sysctl tree.
func (p *Plan) Stamp(version, sysctlRoot string, now time.Time) {
	t := now.UTC().Truncate(time.Second)
	p.Version, p.SysctlRoot, p.Created = version, sysctlRoot, &t
}

// Change returns the plan's change for k.
func (p *Plan) Change(k sysctl.Key) (Change, bool) {
	for _, c := range p.Changes {
		if c.Key == k {
			return c, true
		}
	}
	return Change{}, false
}

// Only returns a copy of p that keeps the changes of keys (a plan may cover
// a subset of its profile's keys: reconcile enforces only what it still
// owns). The copy stays bound to the same profile.
func (p *Plan) Only(keys []sysctl.Key) *Plan {
	q := *p
	q.Changes = nil
	for _, c := range p.Changes {
		for _, k := range keys {
			if c.Key == k {
				q.Changes = append(q.Changes, c)
				break
			}
		}
	}
	if q.Changes == nil {
		q.Changes = []Change{}
	}
	return &q
}

// MarshalJSON is the plan's JSON, with its Digest computed from the
// resolved profile when NewPlan left it empty.
func (p Plan) MarshalJSON() ([]byte, error) {
	type plan Plan // the same fields, without this method
	q := plan(p)
	if q.Digest == "" && p.resolved != nil {
		q.Digest = Digest(p.resolved)
	}
	return json.Marshal(q)
}

// Digest is a stable fingerprint of a resolved profile: the requested
// names and every setting's key, value and op, in order. Reasons and
// comments do not count: they change nothing on the kernel.
func Digest(r *profiles.Resolved) string {
	// Each field length-prefixed, so no two different inputs share bytes
	// (no quoting: diff computes this on every run). A saved plan binds only
	// to the tcptune version that made it, so the form may change between
	// versions.
	n := 0
	for _, p := range r.Profiles {
		n += len(p) + 8
	}
	for _, s := range r.Settings {
		n += len(s.Key.Path()) + len(s.Value) + len(s.Op) + 24
	}
	b := make([]byte, 0, n)
	field := func(tag byte, s string) {
		b = append(b, tag)
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, ':')
		b = append(b, s...)
	}
	for _, p := range r.Profiles {
		field('p', p)
	}
	for _, s := range r.Settings {
		field('k', s.Key.Path())
		field('v', string(s.Value))
		field('o', string(s.Op))
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Reader reads live values; *sysctl.FS implements it.
type Reader interface {
	Read(k sysctl.Key) (sysctl.Value, error)
}

// InSync reports whether applying would write nothing: no key is set.
// Absent and host-wide keys do not count as drift.
func (p *Plan) InSync() bool {
	for _, c := range p.Changes {
		if c.Action == ActionSet {
			return false
		}
	}
	return true
}

// ToSet returns the changes that write, in plan order.
func (p *Plan) ToSet() []Change {
	var out []Change
	for _, c := range p.Changes {
		if c.Action == ActionSet {
			out = append(out, c)
		}
	}
	return out
}

// NewPlan reads every key of r and decides its action. kind says whether
// tcptune runs in a child network namespace, where host-wide keys are
// reported as ActionHostWide. A read error other than "not present" fails the
// plan: the result would be a guess.
func NewPlan(r *profiles.Resolved, fs Reader, kind netns.Kind) (*Plan, error) {
	p := &Plan{Profiles: r.Profiles, NetnsKind: kind.String(),
		Changes: make([]Change, 0, len(r.Settings)), resolved: r}
	for _, s := range r.Settings {
		c := Change{Key: s.Key, Desired: s.Value, Op: s.Op, Reason: s.Reason, Profile: s.Profile, AbsentOK: validate.AbsentOK(s)}
		global := validate.ScopeOf(s.Key) == validate.ScopeGlobal
		live, err := fs.Read(s.Key)
		switch {
		case errors.Is(err, sysctl.ErrNotPresent) && global && kind == netns.Child:
			c.Action, c.Note = ActionHostWide, "host-wide key, not settable from this network namespace"
		case errors.Is(err, sysctl.ErrNotPresent) && c.AbsentOK:
			c.Action, c.Note = ActionAbsent, "this kernel has no such key; skipped (ignore-failure, or its module is not loaded)"
		case errors.Is(err, sysctl.ErrNotPresent):
			c.Action, c.Note = ActionAbsent, "this kernel has no such key"
		case err != nil:
			return nil, fmt.Errorf("read live value: %w", err)
		case global && kind == netns.Child:
			// Visible but host-wide: writing it from a container would
			// change the host, or fail.
			c.Before, c.After = live, live
			c.Action, c.Note = ActionHostWide, "host-wide key, not settable from this network namespace"
		default:
			c.Before = live
			c.After, c.Action = Target(s.Op, live, s.Value)
		}
		p.Changes = append(p.Changes, c)
	}
	return p, nil
}

// Target computes the value a setting leaves live and the action it takes.
// For at-least (at-most) on vectors, each field keeps the live value where
// that is already higher (lower), so an admin's larger tcp_rmem max survives
// while a too-small default is raised.
func Target(op profiles.Op, live, desired sysctl.Value) (sysctl.Value, Action) {
	if live == desired {
		return live, ActionUnchanged
	}
	if op == profiles.OpAtLeast || op == profiles.OpAtMost {
		l, errL := live.Ints()
		d, errD := desired.Ints()
		if errL == nil && errD == nil && len(l) == len(d) {
			out := make([]int64, len(d))
			for i := range d {
				out[i] = d[i]
				if (op == profiles.OpAtLeast && l[i] > d[i]) || (op == profiles.OpAtMost && l[i] < d[i]) {
					out[i] = l[i]
				}
			}
			after := sysctl.IntsValue(out...)
			if after == live {
				return live, ActionSatisfied
			}
			return after, ActionSet
		}
	}
	return desired, ActionSet
}
