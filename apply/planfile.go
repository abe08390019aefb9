package apply

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/renameio/v2"

	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

// A saved plan (terraform's plan -out / apply PLANFILE): `tcptune diff P
// --out plan.json` writes the Plan, `tcptune apply plan.json` applies
// exactly it, or refuses it, with nothing written, when the live values no
// longer are the ones the plan observed (StaleError) or its profiles now
// resolve to other settings (ProfileChangedError). The schema is
// docs/schema/plan.json.

// PlanFormat is the format of a saved plan file; bumped on an incompatible
// change.
const PlanFormat = 1

var (
	// ErrStalePlan: the plan no longer describes the machine (a live value
	// changed since it was made, or it was made for another namespace
	// kind, sysctl tree or tcptune version); nothing was written.
	ErrStalePlan = errors.New("the plan is stale")
	// ErrPlanProfile: the plan's profiles no longer resolve to the settings
	// it was made from; nothing was written.
	ErrPlanProfile = errors.New("the plan's profile changed since it was made")
	// ErrPlanFile: the file is not a plan this tcptune can read.
	ErrPlanFile = errors.New("not a tcptune plan file")
)

// StaleKey is one key whose live value moved since the plan observed it.
type StaleKey struct {
	Key      sysctl.Key
	Observed sysctl.Value // what the plan saw ("" absent)
	Live     sysctl.Value // what is live now ("" absent)
}

// StaleError lists why a plan is stale. It matches ErrStalePlan.
type StaleError struct {
	Profiles []string // of the plan, for the hint
	Keys     []StaleKey
	// Reason is set when the plan as a whole does not fit (namespace kind,
	// sysctl tree, version); Keys is then empty.
	Reason string
}

func (e *StaleError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("%v: %s; nothing was written", ErrStalePlan, e.Reason)
	}
	parts := make([]string, len(e.Keys))
	for i, k := range e.Keys {
		parts[i] = fmt.Sprintf("%s was %s when planned, is %s now", k.Key, show(k.Observed), show(k.Live))
	}
	return fmt.Sprintf("%v: %s; nothing was written", ErrStalePlan, strings.Join(parts, ", "))
}

func (e *StaleError) Unwrap() error { return ErrStalePlan }

// Hint says what to do about a stale plan.
func (e *StaleError) Hint() string { return newPlanHint(e.Profiles) }

func newPlanHint(profiles []string) string {
	p := "PROFILES"
	if len(profiles) > 0 {
		p = strings.Join(profiles, " ")
	}
	return fmt.Sprintf("review and save a new plan: tcptune diff %s --out FILE, then tcptune apply FILE", p)
}

func show(v sysctl.Value) string {
	if v == "" {
		return "absent"
	}
	return fmt.Sprintf("%q", string(v))
}

// ProfileChangedError names the keys whose setting differs between the plan
// and the profile as it resolves now. It matches ErrPlanProfile.
type ProfileChangedError struct {
	Profiles []string
	Keys     []string // "KEY: planned X, profile now Y"
}

func (e *ProfileChangedError) Error() string {
	what := "its settings differ"
	if len(e.Keys) > 0 {
		what = strings.Join(e.Keys, ", ")
	}
	return fmt.Sprintf("%v (%s): %s; nothing was written", ErrPlanProfile, strings.Join(e.Profiles, " + "), what)
}

func (e *ProfileChangedError) Unwrap() error { return ErrPlanProfile }

// Hint says what to do about a plan whose profile changed.
func (e *ProfileChangedError) Hint() string { return newPlanHint(e.Profiles) }

// Encode writes the plan as a saved plan file.
func (p *Plan) Encode() ([]byte, error) {
	q := *p
	q.Format = PlanFormat
	if q.Changes == nil {
		q.Changes = []Change{}
	}
	b, err := json.MarshalIndent(&q, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// SavePlan writes the plan to path atomically (temp file, fsync, rename). The
// temp file is made in path's own directory: renameio's default tries the
// system temp dir first, a wasted file and rename on another file system.
func SavePlan(path string, p *Plan) error {
	b, err := p.Encode()
	if err != nil {
		return err
	}
	if err := renameio.WriteFile(path, b, 0o644, renameio.WithTempDir(filepath.Dir(path))); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	return nil
}

// ReadPlan reads a saved plan. Keys and values are re-validated: the file is
// input like any other. The plan must be bound to its profile (Bind) before
// ApplyPlan takes it.
func ReadPlan(path string) (*Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	return parsePlan(path, b)
}

func parsePlan(path string, b []byte) (*Plan, error) {
	var p Plan
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrPlanFile, path, err)
	}
	switch {
	case p.Format != PlanFormat:
		return nil, fmt.Errorf("%w: %s: format %d, this tcptune reads %d", ErrPlanFile, path, p.Format, PlanFormat)
	case len(p.Profiles) == 0 || p.Digest == "":
		return nil, fmt.Errorf("%w: %s: no profiles or digest", ErrPlanFile, path)
	}
	for _, c := range p.Changes {
		if c.Key.IsZero() {
			return nil, fmt.Errorf("%w: %s: a change without a key", ErrPlanFile, path)
		}
		for _, v := range []sysctl.Value{c.Before, c.After, c.Desired} {
			if _, err := sysctl.ParseValue(string(v)); err != nil {
				return nil, fmt.Errorf("%w: %s: %s: %w", ErrPlanFile, path, c.Key, err)
			}
		}
	}
	return &p, nil
}

// Bind checks that r, the plan's profiles as they resolve now, is what the
// plan was made from, and binds the plan to it. It fails with a
// *ProfileChangedError naming the keys that differ.
func (p *Plan) Bind(r *profiles.Resolved) error {
	var diffs []string
	planned := map[sysctl.Key]Change{}
	for _, c := range p.Changes {
		planned[c.Key] = c
	}
	for _, s := range r.Settings {
		c, ok := planned[s.Key]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s: not in the plan, profile now sets %s %q", s.Key, s.Op, s.Value))
		case c.Desired != s.Value || c.Op != s.Op:
			diffs = append(diffs, fmt.Sprintf("%s: planned %s %q, profile now %s %q", s.Key, c.Op, c.Desired, s.Op, s.Value))
		}
		delete(planned, s.Key)
	}
	for _, c := range p.Changes {
		if _, ok := planned[c.Key]; ok {
			diffs = append(diffs, fmt.Sprintf("%s: planned %s %q, no longer in the profile", c.Key, c.Op, c.Desired))
		}
	}
	if len(diffs) > 0 || Digest(r) != p.Digest {
		return &ProfileChangedError{Profiles: p.Profiles, Keys: diffs}
	}
	p.resolved = r
	return nil
}

// checkFresh compares a saved (or earlier) plan with the plan made now,
// under the lock, from the same profile. Every key of saved must have the
// live value it observed and the same outcome; anything else is stale.
func (o Options) checkFresh(saved, now *Plan) error {
	switch {
	case saved.NetnsKind != "" && saved.NetnsKind != now.NetnsKind:
		return &StaleError{Profiles: saved.Profiles, Reason: fmt.Sprintf("made for a %s network namespace, this is %s", saved.NetnsKind, now.NetnsKind)}
	case saved.SysctlRoot != "" && saved.SysctlRoot != o.FS.Root():
		return &StaleError{Profiles: saved.Profiles, Reason: fmt.Sprintf("made against sysctl root %s, this is %s", saved.SysctlRoot, o.FS.Root())}
	case saved.Version != "" && o.Version != "" && saved.Version != o.Version:
		return &StaleError{Profiles: saved.Profiles, Reason: fmt.Sprintf("made by tcptune %s, this is %s (plan again)", saved.Version, o.Version)}
	}
	var stale []StaleKey
	var differ []string
	for _, c := range saved.Changes {
		n, ok := now.Change(c.Key)
		if !ok {
			differ = append(differ, c.Key.String()+": not in the profile")
			continue
		}
		if n.Before != c.Before || (n.Action == ActionAbsent) != (c.Action == ActionAbsent) {
			stale = append(stale, StaleKey{Key: c.Key, Observed: c.Before, Live: n.Before})
			continue
		}
		if n.After != c.After || n.Action != c.Action {
			differ = append(differ, fmt.Sprintf("%s: plan says %s %q, the profile gives %s %q", c.Key, c.Action, c.After, n.Action, n.After))
		}
	}
	if len(stale) > 0 {
		return &StaleError{Profiles: saved.Profiles, Keys: stale}
	}
	if len(differ) > 0 {
		return &ProfileChangedError{Profiles: saved.Profiles, Keys: differ}
	}
	return nil
}
