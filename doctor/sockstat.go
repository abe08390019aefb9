package doctor

import (
	"bufio"
	"errors"
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

// readSockstat6InUse reads "TCP6: inuse N" of <task>/net/sockstat6: the
// hashed TCP sockets of family AF_INET6 (net/ipv6/proc.c, sockstat6_seq_show:
// sock_prot_inuse_get(net, &tcpv6_prot)), which sockstat's TCP line does not
// count. The file exists whenever IPv6 does (the ipv6 module creates it), so a
// missing file is reported as fs.ErrNotExist for the caller to judge.
func readSockstat6InUse(d procDir) (int, error) {
	path := d.netPath("sockstat6")
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	n, err := parseSockstat6InUse(f)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	return n, nil
}

// parseSockstat6InUse parses the "TCP6: inuse N" line; a file without it is
// an error (the kernel has printed it since sockstat6 exists).
func parseSockstat6InUse(r io.Reader) (int, error) {
	s := bufio.NewScanner(r)
	line := 0
	for s.Scan() {
		line++
		f := strings.Fields(s.Text())
		if len(f) < 3 || f[0] != "TCP6:" {
			continue
		}
		if f[1] != "inuse" {
			return 0, fmt.Errorf("line %d: TCP6 line without inuse", line)
		}
		n, err := strconv.Atoi(f[2])
		if err != nil || n < 0 {
			return 0, fmt.Errorf("line %d: TCP6 inuse: %q is not a count", line, f[2])
		}
		return n, nil
	}
	if err := s.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no TCP6 line")
}
