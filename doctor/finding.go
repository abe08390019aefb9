package doctor

import (
	"fmt"

	"github.com/tcptune/tcptune/apply"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
	"github.com/tcptune/tcptune/validate"
)

// Severity of a finding.
type Severity string

const (
	// Critical: connections are being dropped or reset now.
	Critical Severity = "critical"
	// Warning: a limit is close, or a setting is known to cause trouble.
	Warning Severity = "warning"
)

// Finding is one diagnosis.
type Finding struct {
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	// Summary is one line; Explanation says in plain words what happens to
	// the clients and why.
	Summary     string     `json:"summary"`
	Explanation string     `json:"explanation"`
	Evidence    []Evidence `json:"evidence"`
	// Listeners names the listeners concerned, as "address:port".
	Listeners []string `json:"listeners,omitempty"`
	Fix       Fix      `json:"fix"`
	// ChangedDuring lists the changes tcptune made, inside the window the
	// counters cover, to keys this finding names: the counts then mix the
	// settings before and after (judgeHistory).
	ChangedDuring []apply.KeyChange `json:"changed_during,omitempty"`
}

// Evidence is one counter delta or value a finding rests on.
type Evidence struct {
	Name string `json:"name"` // "TcpExt.ListenOverflows", "net.core.somaxconn", "listener 0.0.0.0:80"
	// Counters: Before/After are the readings; in the since-boot view
	// Before and Delta are absent and After is the total since boot.
	Before    *uint64  `json:"before,omitempty"`
	After     *uint64  `json:"after,omitempty"`
	Delta     *uint64  `json:"delta,omitempty"`
	PerSecond *float64 `json:"per_second,omitempty"`
	// Value is a setting's or a gauge's value, as text.
	Value string `json:"value,omitempty"`
}

// Fix says what addresses a finding.
type Fix struct {
	// Profile is the built-in profile that sets the keys ("" when none does).
	Profile string   `json:"profile"`
	Keys    []FixKey `json:"keys"`
	// Command is the exact command or configuration line to run or add.
	Command string `json:"command"`
	// Restart names what must be restarted for the fix to take effect
	// ("" when nothing).
	Restart string `json:"restart,omitempty"`
	// AlreadyApplied: every key of Profile already has its value here, so
	// there is nothing to apply (Command is then empty).
	AlreadyApplied bool `json:"already_applied,omitempty"`
	// Note qualifies where the fix applies (doctor --all-netns: a
	// namespace that host tuning does not reach).
	Note string `json:"note,omitempty"`
}

// FixKey is one sysctl of a fix, with the value the profile sets or a
// suggested value.
type FixKey struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	// HostWide is set for keys that only the initial network namespace can
	// change (net.core.netdev_max_backlog, tcp_mem, ...).
	HostWide bool `json:"host_wide,omitempty"`
}

// builtinValue returns the value profile sets for k, read from the embedded
// profiles so the doctor never drifts from what `tcptune apply` would do.
func builtinValue(profile string, k sysctl.Key) (sysctl.Value, bool) {
	s, ok := builtinSetting(profile, k)
	return s.Value, ok
}

// profileFix names profile and the keys of it that matter for a finding.
func profileFix(profile string, keys ...sysctl.Key) Fix {
	f := Fix{Profile: profile, Command: "tcptune apply " + profile}
	for _, k := range keys {
		v, _ := builtinValue(profile, k)
		f.Keys = append(f.Keys, fixKey(k, v.String()))
	}
	return f
}

// keyFix is a fix no built-in profile covers: the profile line to add.
func keyFix(k sysctl.Key, value string, op profiles.Op) Fix {
	return Fix{
		Keys: []FixKey{fixKey(k, value)},
		Command: fmt.Sprintf("add to a profile under settings: '%s: {value: %q, op: %s}', then tcptune apply -f FILE",
			k, value, op),
	}
}

// fixKey is one key of a fix. Whether it is host-wide is the validate
// catalog's answer, the one source of kernel facts.
func fixKey(k sysctl.Key, value string) FixKey {
	return FixKey{Key: k.String(), Value: value, HostWide: validate.ScopeOf(k) == validate.ScopeGlobal}
}

// counterEvidence builds the evidence for counter name of section in w.
func counterEvidence(w *Window, section string, pick func(*Snapshot) Counters, name string) (Evidence, uint64, bool) {
	var before Counters
	if w.Before != nil {
		before = pick(w.Before)
	}
	after := pick(w.After)
	d, ok := delta(before, after, name)
	if !ok {
		return Evidence{}, 0, false
	}
	e := Evidence{Name: section + "." + name}
	a, _ := after.Get(name)
	e.After = &a
	if before != nil {
		b, _ := before.Get(name)
		e.Before, e.Delta = &b, &d
		if w.Interval > 0 {
			r := float64(d) / w.Interval.Seconds()
			e.PerSecond = &r
		}
	}
	return e, d, true
}

func tcpExtOf(s *Snapshot) Counters { return s.TCPExt }
func tcpOf(s *Snapshot) Counters    { return s.TCP }

func valueEvidence(name string, v any) Evidence { return Evidence{Name: name, Value: fmt.Sprint(v)} }

func sysctlEvidence(s Sysctls, k sysctl.Key) (Evidence, bool) {
	v, ok := s[k]
	if !ok {
		return Evidence{}, false
	}
	return Evidence{Name: k.String(), Value: v.String()}, true
}
