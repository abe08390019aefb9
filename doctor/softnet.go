package doctor

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Softnet sums /proc/net/softnet_stat over CPUs. The file is host-wide: the
// same in every network namespace.
type Softnet struct {
	CPUs int `json:"cpus"`
	// Dropped: packets dropped because the CPU's input backlog was full
	// (net.core.netdev_max_backlog).
	Dropped uint64 `json:"dropped"`
	// TimeSqueezed: times net_rx_action ran out of budget or time with work
	// left (net.core.netdev_budget, netdev_budget_usecs).
	TimeSqueezed uint64 `json:"time_squeezed"`
	Processed    uint64 `json:"processed"`
}

// readSoftnet reads <task>/net/softnet_stat: one row of hex columns per
// CPU, 9 of them since Linux 2.6.23 and more from 5.14 on; the first three
// (processed, dropped, time_squeezed) have kept their place in every layout
// (net/core/net-procfs.c, softnet_seq_show).
func readSoftnet(d procDir) (Softnet, error) {
	path := d.netPath("softnet_stat")
	f, err := os.Open(path)
	if err != nil {
		return Softnet{}, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	s, err := parseSoftnet(f)
	if err != nil {
		return Softnet{}, fmt.Errorf("read %s: %w", path, err)
	}
	return s, nil
}

func parseSoftnet(r io.Reader) (Softnet, error) {
	var s Softnet
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		cols := strings.Fields(sc.Text())
		if len(cols) == 0 {
			continue
		}
		if len(cols) < 9 {
			return Softnet{}, fmt.Errorf("CPU row %d has %d columns, want at least 9", s.CPUs+1, len(cols))
		}
		var v [3]uint64
		for i := range v {
			n, err := strconv.ParseUint(cols[i], 16, 32)
			if err != nil {
				return Softnet{}, fmt.Errorf("CPU row %d column %d: %q is not a 32-bit hex number", s.CPUs+1, i+1, cols[i])
			}
			v[i] = n
		}
		s.CPUs++
		s.Processed += v[0]
		s.Dropped += v[1]
		s.TimeSqueezed += v[2]
	}
	if err := sc.Err(); err != nil {
		return Softnet{}, err
	}
	if s.CPUs == 0 {
		return Softnet{}, fmt.Errorf("no CPU rows")
	}
	return s, nil
}

// delta returns after-before, and false when a per-CPU 32-bit counter wrapped
// or the CPU count changed (hotplug) between the readings.
func (after Softnet) delta(before Softnet) (Softnet, bool) {
	if after.CPUs != before.CPUs || after.Dropped < before.Dropped ||
		after.TimeSqueezed < before.TimeSqueezed || after.Processed < before.Processed {
		return Softnet{}, false
	}
	return Softnet{CPUs: after.CPUs, Dropped: after.Dropped - before.Dropped,
		TimeSqueezed: after.TimeSqueezed - before.TimeSqueezed, Processed: after.Processed - before.Processed}, true
}
