package doctor

import (
	"fmt"
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

// readSockstat reads <task>/net/sockstat through procfs. A file without a
// TCP line yields a Sockstat with every field nil.
func readSockstat(d procDir) (Sockstat, error) {
	fs, err := d.fs()
	if err != nil {
		return Sockstat{}, fmt.Errorf("read %s: %w", d.netPath("sockstat"), err)
	}
	st, err := fs.NetSockstat()
	if err != nil {
		return Sockstat{}, fmt.Errorf("read %s: %w", d.netPath("sockstat"), err)
	}
	for _, p := range st.Protocols {
		if p.Protocol != "TCP" {
			continue
		}
		inuse := p.InUse
		return Sockstat{InUse: &inuse, Orphan: p.Orphan, TW: p.TW, Alloc: p.Alloc, Mem: p.Mem}, nil
	}
	return Sockstat{}, nil
}
