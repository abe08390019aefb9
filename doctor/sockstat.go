package doctor

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Sockstat holds the TCP line of /proc/net/sockstat: gauges at the moment of
// reading. Nil means the kernel did not print the field.
type Sockstat struct {
	InUse  *int `json:"inuse,omitempty"`
	Orphan *int `json:"orphan,omitempty"`
	TW     *int `json:"tw,omitempty"`
	Alloc  *int `json:"alloc,omitempty"`
	// Mem is in pages, the unit of net.ipv4.tcp_mem.
	Mem *int `json:"mem,omitempty"`
}

// readSockstat reads <task>/net/sockstat. A file without a TCP line yields a
// Sockstat with every field nil.
func readSockstat(d procDir) (Sockstat, error) {
	path := d.netPath("sockstat")
	f, err := os.Open(path)
	if err != nil {
		return Sockstat{}, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	st, err := parseSockstat(f)
	if err != nil {
		return Sockstat{}, fmt.Errorf("read %s: %w", path, err)
	}
	return st, nil
}

// parseSockstat parses the "TCP: inuse N orphan N tw N alloc N mem N" line
// (net/ipv4/proc.c, sockstat_seq_show); fields a kernel does not print stay
// nil, fields it adds are ignored.
func parseSockstat(r io.Reader) (Sockstat, error) {
	s := bufio.NewScanner(r)
	line := 0
	for s.Scan() {
		line++
		f := strings.Fields(s.Text())
		if len(f) == 0 || f[0] != "TCP:" {
			continue
		}
		if len(f)%2 != 1 {
			return Sockstat{}, fmt.Errorf("line %d: TCP: a name without a value", line)
		}
		var st Sockstat
		for i := 1; i < len(f); i += 2 {
			n, err := strconv.Atoi(f[i+1])
			if err != nil {
				return Sockstat{}, fmt.Errorf("line %d: TCP %s: %q is not a number", line, f[i], f[i+1])
			}
			switch f[i] {
			case "inuse":
				st.InUse = &n
			case "orphan":
				st.Orphan = &n
			case "tw":
				st.TW = &n
			case "alloc":
				st.Alloc = &n
			case "mem":
				st.Mem = &n
			}
		}
		if st.InUse == nil {
			return Sockstat{}, fmt.Errorf("line %d: TCP line without inuse", line)
		}
		return st, nil
	}
	return Sockstat{}, s.Err()
}
