package lab

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"sort"

	"github.com/tcptune/tcptune/resettrace"
)

// KV is one sysctl of a scenario's documented "before" state.
type KV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Env is what a workload gets from the child process.
type Env struct {
	// Clients is the number of client attempts the workload makes.
	Clients int
	// Phase is "before" or "after".
	Phase string
	// Dir is a temporary directory private to this run.
	Dir string
	// Log receives progress lines (the parent's stderr in verbose mode).
	Log io.Writer
}

// Scenario is one reproducible failure.
type Scenario struct {
	Name    string `json:"name"`
	Summary string `json:"summary"`
	// Profile is the built-in profile that addresses the failure.
	Profile string `json:"profile"`
	// Clients is the default number of client attempts.
	Clients int `json:"clients"`
	// Before is the state the lab sets in the namespace before the first
	// phase, in order; the kernel's per-namespace defaults are not the
	// failing configuration, so it is spelled out.
	Before []KV `json:"before"`
	// Watch are extra keys whose live values the report shows.
	Watch []string `json:"watch,omitempty"`
	// Counters are the kernel counters that explain the outcome.
	Counters []string `json:"counters"`
	// Needs are external programs the workload runs; a missing one skips
	// the scenario with a message.
	Needs []string `json:"needs,omitempty"`
	// ExpectCause is the reset cause the scenario builds: every run traces
	// the resets (doctor --trace's tracer) and checks that the before
	// phase's dominant cause is this one ("" : no resets).
	ExpectCause resettrace.Cause `json:"expect_cause"`
	// TraceIgnorePorts are local ports whose resets are the lab's own
	// plumbing (the delay relay), not a cause.
	TraceIgnorePorts []uint16 `json:"-"`
	// AppFix is the application change the after phase makes besides the
	// profile, when the fix is not a sysctl ("" when none).
	AppFix string `json:"app_fix,omitempty"`

	run func(ctx context.Context, env *Env) (*Phase, error)
}

var registry = map[string]*Scenario{}

func register(s *Scenario) { registry[s.Name] = s }

// Scenarios returns every scenario, sorted by name.
func Scenarios() []*Scenario {
	out := make([]*Scenario, 0, len(registry))
	for _, s := range registry {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup returns the scenario called name.
func Lookup(name string) (*Scenario, bool) {
	s, ok := registry[name]
	return s, ok
}

// InstallHint says how to get a program a scenario needs: a Debian
// package, or for the lab's own Go client, the build next to tcptune.
func InstallHint(program string) string {
	if program == httpClientName {
		return fmt.Sprintf("build it next to tcptune: 'go build -o $(dirname $(command -v tcptune))/%s ./cmd/%s' from a tcptune checkout ('make lab' builds bin/%s), or set %s to its path",
			httpClientName, httpClientName, httpClientName, HTTPClientEnv)
	}
	return fmt.Sprintf("install it (Debian: apt-get install -y %s)", program)
}

// Missing returns the first program of s.Needs not found in PATH, or "".
func (s *Scenario) Missing() string {
	for _, n := range s.Needs {
		if n == httpClientName {
			if _, err := httpClientPath(); err != nil {
				return n
			}
			continue
		}
		if _, err := exec.LookPath(n); err != nil {
			return n
		}
	}
	return ""
}

// keys returns the keys whose values the report shows: the before state,
// then the watched keys.
func (s *Scenario) keys() []string {
	var out []string
	for _, kv := range s.Before {
		out = append(out, kv.Key)
	}
	return append(out, s.Watch...)
}
