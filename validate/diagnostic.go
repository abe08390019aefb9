// Package validate checks resolved profiles before anything touches the
// kernel: every key against a catalog of known tunables (type, bounds from
// the kernel source, scope, removed keys) and the rules that span several
// keys (tcp_rmem ordering, port range vs unprivileged ports, ...).
package validate

import (
	"fmt"

	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

// Severity of a diagnostic.
type Severity string

const (
	SevError   Severity = "error"
	SevWarning Severity = "warning"
	SevNote    Severity = "note"
)

// Diagnostic is one finding of validation.
type Diagnostic struct {
	Severity Severity     `json:"severity"`
	Key      string       `json:"key,omitempty"`
	Pos      profiles.Pos `json:"pos"`
	Profile  string       `json:"profile,omitempty"`
	Message  string       `json:"message"`
	Hint     string       `json:"hint,omitempty"`
}

func (d Diagnostic) String() string {
	s := fmt.Sprintf("%s: %s", d.Pos, d.Severity)
	if d.Key != "" {
		s += ": " + d.Key
	}
	s += ": " + d.Message
	if d.Hint != "" {
		s += " (hint: " + d.Hint + ")"
	}
	return s
}

// HasErrors reports whether any diagnostic is an error.
func HasErrors(ds []Diagnostic) bool {
	for _, d := range ds {
		if d.Severity == SevError {
			return true
		}
	}
	return false
}

// Kernel gives validation facts about the running kernel. A nil *Kernel
// means "do not look at the kernel" (plain `tcptune validate`).
type Kernel struct {
	FS *sysctl.FS
	// Netns is the kind of network namespace tcptune runs in; in a child
	// namespace, host-wide keys are reported as such, not as failures.
	Netns netns.Kind
	// Listeners, when set, lists the listening sockets here; a new
	// ip_local_port_range is checked against them and against Kubernetes'
	// NodePorts when kubelet listens (hazards.go).
	Listeners func() ([]Listener, error)
	// Owners, when set, fills Process and PID of the listeners passed (the
	// ones a warning names).
	Owners func([]Listener)
	// Tuned, when set, is the active tuned configuration; keys it also sets
	// are reported (tuned.go).
	Tuned *Tuned
}
