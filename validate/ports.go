package validate

import (
	"fmt"
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

// overlap counts the distinct ports of rs inside [lo, hi].
func overlap(rs []portRange, lo, hi int) int {
	var in [65536]bool
	n := 0
	for _, r := range rs {
		for p := max(r.Lo, lo); p <= min(r.Hi, hi); p++ {
			if !in[p] {
				in[p] = true
				n++
			}
		}
	}
	return n
}

// canonicalPorts renders rs as the kernel prints the bitmap: ascending,
// overlapping and adjacent ranges merged.
func canonicalPorts(rs []portRange) string {
	var in [65536]bool
	for _, r := range rs {
		for p := r.Lo; p <= r.Hi; p++ {
			in[p] = true
		}
	}
	var parts []string
	for p := 0; p < len(in); p++ {
		if !in[p] {
			continue
		}
		q := p
		for q+1 < len(in) && in[q+1] {
			q++
		}
		if q == p {
			parts = append(parts, strconv.Itoa(p))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", p, q))
		}
		p = q
	}
	return strings.Join(parts, ",")
}
