package lab

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// counterFiles hold the namespace's TCP counters. /proc/self/net is the view
// of the reading process's network namespace, so inside the lab these are
// the lab's own counters, starting at zero.
var counterFiles = []string{"/proc/self/net/netstat", "/proc/self/net/snmp"}

// Counters maps "Group.Name" (TcpExt.ListenOverflows, Tcp.RetransSegs) to a
// value. A name the kernel does not report is absent.
type Counters map[string]int64

// ReadCounters reads and merges the counter files.
func ReadCounters(paths ...string) (Counters, error) {
	if len(paths) == 0 {
		paths = counterFiles
	}
	out := Counters{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("read counters: %w", err)
		}
		err = parseCounters(f, out)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read counters: %s: %w", p, err)
		}
	}
	return out, nil
}

// parseCounters parses the two-line format of /proc/net/netstat and
// /proc/net/snmp: a header line "Group: Name1 Name2" followed by a value
// line "Group: 1 2".
func parseCounters(r io.Reader, out Counters) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		names := strings.Fields(sc.Text())
		if len(names) == 0 {
			continue
		}
		if !sc.Scan() {
			return fmt.Errorf("line %d: header %q without a value line", line, names[0])
		}
		line++
		vals := strings.Fields(sc.Text())
		if len(vals) != len(names) || vals[0] != names[0] {
			return fmt.Errorf("line %d: value line does not match header %q", line, names[0])
		}
		group := strings.TrimSuffix(names[0], ":")
		for i := 1; i < len(names); i++ {
			n, err := strconv.ParseInt(vals[i], 10, 64)
			if err != nil {
				// Tcp MaxConn is -1 in snmp; anything unparsable is skipped
				// rather than read as zero.
				continue
			}
			out[group+"."+names[i]] = n
		}
	}
	return sc.Err()
}

// Delta returns after-before for the names given, leaving out names either
// side lacks.
func Delta(before, after Counters, names []string) map[string]int64 {
	d := map[string]int64{}
	for _, n := range names {
		b, ok1 := before[n]
		a, ok2 := after[n]
		if ok1 && ok2 {
			d[n] = a - b
		}
	}
	return d
}
