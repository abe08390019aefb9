// Package profiles loads tcptune profiles: YAML files that name sysctl
// settings, each with an operator (exact, at-least, at-most) and a reason.
//
// Profiles come from three places, later shadowing earlier by name: the
// built-ins embedded in the binary (builtin/*.yaml), the user directories
// (/etc/tcptune/profiles.d/*.yaml by default) and files given with -f.
// Decoding is strict: unknown fields, duplicate keys and wrong types are
// errors carrying file:line:column. Resolve composes profiles (extends, and
// several on one command line) into one Resolved set of settings.
package profiles

import (
	"fmt"

	"github.com/tcptune/tcptune/sysctl"
)

// Op says how a setting's value relates to the live value.
type Op string

const (
	// OpExact sets the value as given.
	OpExact Op = "exact"
	// OpAtLeast never lowers: a live value already at or above the
	// setting (field by field for vectors) is left alone.
	OpAtLeast Op = "at-least"
	// OpAtMost never raises: a live value already at or below is left alone.
	OpAtMost Op = "at-most"
)

// Valid reports whether o is a known operator.
func (o Op) Valid() bool { return o == OpExact || o == OpAtLeast || o == OpAtMost }

// Pos is a place in a profile file.
type Pos struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}

// Setting is one key of a profile.
type Setting struct {
	Key    sysctl.Key
	Value  sysctl.Value
	Op     Op
	Reason string
	// Profile is the name of the profile that contributed this setting.
	Profile string
	// Pos is where the key is written (the key's line).
	Pos Pos
	// ValuePos is where the value is written.
	ValuePos Pos
	// IgnoreFailure is sysctl.d's "-key": a key this kernel lacks is
	// skipped instead of refusing the whole profile (apply, diff and
	// validate --kernel report it as absent). A write the kernel refuses
	// still fails the transaction: all or nothing.
	IgnoreFailure bool
}

// Allow is one entry of a profile's allow: list, a key outside what
// tcptune writes by default (validate.KeyAllowed) that this profile may set:
// a dotted key, or a prefix ending in ".*" (vm.*). It is honoured only when
// the profile file is trusted (Profile.Untrusted is empty).
type Allow struct {
	Pattern string `json:"pattern"`
	Pos     Pos    `json:"pos"`
}

// Origin says where a profile came from.
type Origin string

const (
	OriginBuiltin Origin = "builtin"
	OriginUser    Origin = "user" // a profiles.d directory
	OriginFile    Origin = "file" // -f FILE
)

// Profile is one decoded profile file, before composition.
type Profile struct {
	Name        string
	Description string
	Extends     []string
	Settings    []Setting // in file order
	Origin      Origin
	// File is the path it was read from ("builtin/high-concurrency.yaml" for
	// built-ins).
	File string
	// Shadows is set when this profile hides another of the same name (a
	// user profile named like a built-in): the hidden one's file.
	Shadows string
	// Allow lists the keys outside the default write policy this profile
	// asks for.
	Allow []Allow
	// Untrusted says why the file cannot grant allow: (not owned by root,
	// writable by group or others, or in such a directory); empty for a
	// trusted file and for built-ins.
	Untrusted string
}

// Override records that a later profile replaced an earlier one's setting.
type Override struct {
	Key        sysctl.Key   `json:"key"`
	From       string       `json:"from_profile"`
	FromValue  sysctl.Value `json:"from_value"`
	By         string       `json:"by_profile"`
	ByValue    sysctl.Value `json:"by_value"`
	Result     sysctl.Value `json:"result"`
	Resolution string       `json:"resolution"` // "later wins", "larger kept", "smaller kept"
}

// Resolved is the composition of one or more profiles: one setting per key,
// sorted by key path.
type Resolved struct {
	// Profiles are the names as requested, in order.
	Profiles []string
	// Chain is every profile that contributed, in application order
	// (extends first).
	Chain []string
	// Sources are the profiles of Chain, in the same order: where each came
	// from, what it shadows and what it may grant.
	Sources   []*Profile
	Settings  []Setting
	Overrides []Override
}

// Setting returns the resolved setting for k.
func (r *Resolved) Setting(k sysctl.Key) (Setting, bool) {
	for _, s := range r.Settings {
		if s.Key == k {
			return s, true
		}
	}
	return Setting{}, false
}
