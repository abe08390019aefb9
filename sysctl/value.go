package sysctl

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Value is a sysctl value with whitespace normalised: fields separated by one
// space, no leading or trailing space. The kernel separates vector values
// with tabs ("4096\t131072\t6291456"); profiles use spaces. Both normalise to
// the same Value, so comparing Values compares what the kernel means.
type Value string

// ErrBadValue is wrapped by every error ParseValue returns.
var ErrBadValue = errors.New("invalid sysctl value")

// maxValueLen bounds a value; sysctl writes are limited to a page anyway.
const maxValueLen = 4096

// ParseValue validates and normalises a value from a profile or a command
// line. Line breaks, NUL and other control characters (except the tab, which
// is a field separator) are rejected: a value must never be able to inject a
// second line into a sysctl.d file.
func ParseValue(s string) (Value, error) {
	if len(s) > maxValueLen {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrBadValue, maxValueLen)
	}
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r':
			return "", fmt.Errorf("%w %q: contains a line break", ErrBadValue, s)
		case r == 0:
			return "", fmt.Errorf("%w %q: contains a NUL byte", ErrBadValue, s)
		case r != '\t' && unicode.IsControl(r):
			return "", fmt.Errorf("%w %q: contains a control character", ErrBadValue, s)
		}
	}
	v := Normalize(s)
	if v == "" {
		return "", fmt.Errorf("%w: empty value", ErrBadValue)
	}
	return v, nil
}

// Normalize collapses all whitespace runs to one space and trims the ends.
// It is used on what the kernel returns; use ParseValue for user input.
func Normalize(s string) Value { return Value(strings.Join(strings.Fields(s), " ")) }

// String returns the normalised text.
func (v Value) String() string { return string(v) }

// Fields returns the whitespace-separated fields: one for scalars, three for
// tcp_rmem, two for ip_local_port_range.
func (v Value) Fields() []string { return strings.Fields(string(v)) }

// Ints parses every field as a base-10 integer.
func (v Value) Ints() ([]int64, error) {
	// Split by hand, not with Fields: validation and planning parse every
	// value more than once on each diff. Fields' Unicode spaces matter only
	// for non-ASCII text, which takes Fields.
	s := string(v)
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return intsOf(v, v.Fields())
		}
	}
	out := make([]int64, 0, 3)
	for i, field := 0, 1; ; field++ {
		for i < len(s) && asciiSpace(s[i]) {
			i++
		}
		if i == len(s) {
			return out, nil
		}
		end := i
		for end < len(s) && !asciiSpace(s[end]) {
			end++
		}
		n, err := strconv.ParseInt(s[i:end], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("field %d of %q is not an integer", field, string(v))
		}
		out = append(out, n)
		i = end
	}
}

// asciiSpace is unicode.IsSpace for ASCII.
func asciiSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func intsOf(v Value, f []string) ([]int64, error) {
	out := make([]int64, len(f))
	for i, s := range f {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("field %d of %q is not an integer", i+1, string(v))
		}
		out[i] = n
	}
	return out, nil
}

// IntsValue formats integers as a normalised Value.
func IntsValue(ns ...int64) Value {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.FormatInt(n, 10)
	}
	return Value(strings.Join(s, " "))
}
