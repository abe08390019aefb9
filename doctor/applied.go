package doctor

import (
	"sync"

	"github.com/tcptune/tcptune/apply"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

var (
	settingsOnce sync.Once
	settings     map[string]map[sysctl.Key]profiles.Setting
)

// builtinSetting returns the setting profile has for k (value and op).
func builtinSetting(profile string, k sysctl.Key) (profiles.Setting, bool) {
	settingsOnce.Do(func() {
		settings = map[string]map[sysctl.Key]profiles.Setting{}
		ps, err := profiles.Builtins()
		if err != nil {
			return
		}
		for _, p := range ps {
			m := map[sysctl.Key]profiles.Setting{}
			for _, s := range p.Settings {
				m[s.Key] = s
			}
			settings[p.Name] = m
		}
	})
	s, ok := settings[profile][k]
	return s, ok
}

// markApplied keeps the doctor from recommending what is already in force:
// when every key a finding's profile fix names already has the profile's
// value (apply.Target says "unchanged" or "satisfied", the same judgment
// tcptune apply makes), the fix says so and no longer tells the user to
// apply it; the explanation says what that means for the evidence.
func markApplied(w *Window, fs []Finding) {
	for i := range fs {
		f := &fs[i]
		if f.Fix.Profile == "" || len(f.Fix.Keys) == 0 {
			continue
		}
		all := true
		for _, fk := range f.Fix.Keys {
			k, err := sysctl.ParseKey(fk.Key)
			if err != nil {
				all = false
				break
			}
			s, ok := builtinSetting(f.Fix.Profile, k)
			live, have := w.After.Sysctls[k]
			if !ok || !have { // host-wide key invisible here, or not the profile's: cannot tell
				all = false
				break
			}
			if _, act := apply.Target(s.Op, live, s.Value); act == apply.ActionSet {
				all = false
				break
			}
		}
		if !all {
			continue
		}
		f.Fix.AlreadyApplied = true
		f.Fix.Command = ""
		if w.SinceBoot() {
			f.Explanation += " The profile " + f.Fix.Profile + "'s values are already in force: these counters are totals since boot " +
				"and may predate them; run tcptune doctor (two readings) to see whether it still happens."
		} else {
			f.Explanation += " The profile " + f.Fix.Profile + "'s values are already in force and it still happens: what is " +
				"left is the listeners' own limits (restart them, raise their backlog) or the application."
		}
	}
}
