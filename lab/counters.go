package lab

import (
	"fmt"

	"github.com/tcptune/tcptune/doctor"
)

// counterFiles hold the namespace's TCP counters. /proc/self/net is the view
// of the reading process's network namespace, so inside the lab these are
// the lab's own counters, starting at zero.
var counterFiles = []string{"/proc/self/net/netstat", "/proc/self/net/snmp"}

// Counters maps "Group.Name" (TcpExt.ListenOverflows, Tcp.RetransSegs) to a
// value. A name the kernel does not report is absent.
type Counters map[string]int64

// ReadCounters reads and merges the counter files, parsed by the doctor's
// reader (negative gauges such as Tcp MaxConn are left out there).
func ReadCounters(paths ...string) (Counters, error) {
	if len(paths) == 0 {
		paths = counterFiles
	}
	out := Counters{}
	for _, p := range paths {
		sections, err := doctor.ReadNetstat(p)
		if err != nil {
			return nil, fmt.Errorf("read counters: %w", err)
		}
		for group, names := range sections {
			for name, v := range names {
				out[group+"."+name] = int64(v)
			}
		}
	}
	return out, nil
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
