package doctor

import (
	"fmt"
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

// readSoftnet reads <task>/net/softnet_stat through procfs, which knows the
// column layouts from Linux 2.6.23 (9 columns) to 5.14+ (13 and more).
func readSoftnet(d procDir) (Softnet, error) {
	fs, err := d.fs()
	if err != nil {
		return Softnet{}, fmt.Errorf("read %s: %w", d.netPath("softnet_stat"), err)
	}
	rows, err := fs.NetSoftnetStat()
	if err != nil {
		return Softnet{}, fmt.Errorf("read %s: %w", d.netPath("softnet_stat"), err)
	}
	if len(rows) == 0 {
		return Softnet{}, fmt.Errorf("read %s: no CPU rows", d.netPath("softnet_stat"))
	}
	var s Softnet
	for _, r := range rows {
		s.CPUs++
		s.Dropped += uint64(r.Dropped)
		s.TimeSqueezed += uint64(r.TimeSqueezed)
		s.Processed += uint64(r.Processed)
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
