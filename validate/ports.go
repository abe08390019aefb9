package validate

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// portRange is an inclusive range of ports; a single port has Lo == Hi.
type portRange struct{ Lo, Hi int }

// parsePorts parses the format of net.ipv4.ip_local_reserved_ports, which
// the kernel reads with proc_do_large_bitmap: comma-separated ports or
// ranges "a-b", each 0..65535. tcptune accepts only the canonical form the
// kernel prints when the key is read (no blanks), so that a profile value
// compares equal to the live value after apply.
func parsePorts(s string) ([]portRange, error) {
	if s == "" {
		return nil, nil
	}
	if strings.ContainsAny(s, " \t") {
		return nil, fmt.Errorf("blanks inside the list; write ports separated by commas only, such as \"8080,9000-9100\"")
	}
	var out []portRange
	for _, item := range strings.Split(s, ",") {
		if item == "" {
			return nil, fmt.Errorf("empty item in %q", s)
		}
		lo, hi, isRange := strings.Cut(item, "-")
		a, err := parsePort(lo)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = parsePort(hi); err != nil {
				return nil, err
			}
			if b < a {
				return nil, fmt.Errorf("range %q ends before it starts", item)
			}
		}
		out = append(out, portRange{a, b})
	}
	return out, nil
}

func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a port number", s)
	}
	if n < 0 || n > 65535 {
		return 0, fmt.Errorf("port %d is outside 0..65535", n)
	}
	return n, nil
}

// mergePorts returns rs as the kernel holds them: ascending, with
// overlapping and adjacent ranges merged. Interval arithmetic, not a
// 65536-entry bitmap: a bitmap on the stack is 64 KiB to clear on every call
// and made every caller's frame that large.
func mergePorts(rs []portRange) []portRange {
	if len(rs) == 0 {
		return nil
	}
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b portRange) int { return cmp.Compare(a.Lo, b.Lo) })
	out := s[:1]
	for _, r := range s[1:] {
		last := &out[len(out)-1]
		if r.Lo <= last.Hi+1 {
			last.Hi = max(last.Hi, r.Hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

// overlap counts the distinct ports of rs inside [lo, hi].
func overlap(rs []portRange, lo, hi int) int {
	n := 0
	for _, r := range mergePorts(rs) {
		n += max(0, min(r.Hi, hi)-max(r.Lo, lo)+1)
	}
	return n
}

// canonicalPorts renders rs as the kernel prints the bitmap: ascending,
// overlapping and adjacent ranges merged.
func canonicalPorts(rs []portRange) string {
	var b []byte
	for i, r := range mergePorts(rs) {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(r.Lo), 10)
		if r.Hi != r.Lo {
			b = append(b, '-')
			b = strconv.AppendInt(b, int64(r.Hi), 10)
		}
	}
	return string(b)
}
