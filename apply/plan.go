// Package apply turns a resolved profile into changes on the kernel.
//
// A Plan is the diff of a profile against live values: a value that can be
// printed, saved and applied. Its Before values are what rollback restores.
package apply

import (
	"errors"
	"fmt"

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

// Plan is the diff of a resolved profile against the live kernel.
type Plan struct {
	Profiles []string `json:"profiles"`
	Changes  []Change `json:"changes"` // sorted by key path
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
	p := &Plan{Profiles: r.Profiles, Changes: make([]Change, 0, len(r.Settings))}
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
