package validate

import (
	"fmt"
	"strings"

	"github.com/tcptune/tcptune/sysctl"
)

// Type is the shape of a tunable's value.
type Type string

const (
	TypeInt    Type = "int"    // one integer
	TypeBool   Type = "bool"   // 0 or 1
	TypeVector Type = "vector" // Fields integers (tcp_rmem: 3, ip_local_port_range: 2)
	TypeString Type = "string" // free text (e.g. tcp_congestion_control)
	TypePorts  Type = "ports"  // a port list such as "8080,9000-9100" (ip_local_reserved_ports)
)

// Scope says where a tunable lives.
type Scope string

const (
	// ScopeNetns: one value per network namespace (a container can set it).
	ScopeNetns Scope = "netns"
	// ScopeGlobal: one value for the whole host; absent or read-only inside a
	// child network namespace.
	ScopeGlobal Scope = "global"
)

// Tunable is a catalog entry: what tcptune knows about one sysctl.
type Tunable struct {
	Key  sysctl.Key `json:"key"`
	Type Type       `json:"type"`
	// Fields is the number of integers for TypeVector.
	Fields int `json:"fields,omitempty"`
	// FieldNames name the fields of a vector in messages ("min", "default",
	// "max" for tcp_rmem).
	FieldNames []string `json:"field_names,omitempty"`
	// Min and Max bound every integer field, as the kernel's proc handler
	// does (extra1/extra2 in the ctl_table, or the range of the C type behind
	// proc_dointvec / proc_dou8vec_minmax); nil means unbounded there. A value
	// outside them is an error: the kernel would refuse it.
	Min *int64 `json:"min,omitempty"`
	Max *int64 `json:"max,omitempty"`
	// UsefulMin is a floor tighter than the kernel's: below it the kernel
	// takes the value but it makes no sense (a negative timeout), so tcptune
	// warns. nil when the kernel's Min is already the useful floor.
	UsefulMin *int64 `json:"useful_min,omitempty"`
	// Values are the documented meanings of an enumeration (tcp_syncookies:
	// 0, 1, 2); other values within Min..Max are accepted by the kernel but
	// draw a warning. Empty for plain numbers.
	Values []int64 `json:"values,omitempty"`
	Unit   string  `json:"unit,omitempty"` // "connections", "packets", "bytes", "pages", "seconds", "count", ...
	Scope  Scope   `json:"scope"`
	// Default is the kernel's default value, as a normalised value. Empty
	// when the kernel computes it at boot (from RAM, hash table sizes);
	// DefaultNote then says how.
	Default     sysctl.Value `json:"default,omitempty"`
	DefaultNote string       `json:"default_note,omitempty"`
	// Since is the kernel version that added the key, when that is recent
	// enough to matter ("6.5" for tcp_syn_linear_timeouts).
	Since string `json:"since,omitempty"`
	// RemovedIn is the kernel version that removed the key ("4.12" for
	// tcp_tw_recycle); such a key is always an error. RemovedHint says what
	// to use instead.
	RemovedIn   string `json:"removed_in,omitempty"`
	RemovedHint string `json:"removed_hint,omitempty"`
	// NetnsNote records version facts about the key's namespacing, e.g. that
	// a global key became visible (read-only) in child namespaces.
	NetnsNote string `json:"netns_note,omitempty"`
	// Module is the kernel module that registers the key (nf_conntrack);
	// without it loaded the key is absent, which is "absent", not an error:
	// apply skips it.
	Module string `json:"module,omitempty"`
	// Doc is one line on what the key does, drawn from ip-sysctl.rst.
	Doc string `json:"doc"`
	// Source is the kernel file whose ctl_table defines the key and its
	// bounds.
	Source string `json:"source"`
}

// Removed reports whether the key no longer exists in current kernels.
func (t Tunable) Removed() bool { return t.RemovedIn != "" }

// Bounds describes the accepted values in words, for hints and the catalog
// table: "0..65535", "0 or 1", "3 integers, each >= 1".
func (t Tunable) Bounds() string {
	switch t.Type {
	case TypeBool:
		return "0 or 1"
	case TypeString:
		return "a name"
	case TypePorts:
		return "ports 0..65535, comma-separated, ranges as a-b"
	case TypeVector:
		return fmt.Sprintf("%d integers (%s), each %s", t.Fields, strings.Join(t.FieldNames, " "), t.rangeText())
	}
	return t.rangeText()
}

// rangeText renders Min..Max, with UsefulMin in place of Min when set: the
// range worth writing, not the kernel's whole int range.
func (t Tunable) rangeText() string {
	lo := t.Min
	if t.UsefulMin != nil {
		lo = t.UsefulMin
	}
	switch {
	case lo != nil && t.Max != nil:
		return fmt.Sprintf("%d..%d", *lo, *t.Max)
	case lo != nil:
		return fmt.Sprintf(">= %d", *lo)
	case t.Max != nil:
		return fmt.Sprintf("<= %d", *t.Max)
	}
	return "any integer"
}

// fieldName names field i (0-based) of a vector for messages.
func (t Tunable) fieldName(i int) string {
	if i < len(t.FieldNames) {
		return fmt.Sprintf("field %d (%s)", i+1, t.FieldNames[i])
	}
	return fmt.Sprintf("field %d", i+1)
}
