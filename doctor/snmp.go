package doctor

import (
	"fmt"

	"github.com/prometheus/procfs"
)

// Tcp counters the rules read from /proc/net/snmp (RFC 4022 names).
const (
	OutRsts     = "OutRsts"     // segments sent with RST
	EstabResets = "EstabResets" // ESTABLISHED/CLOSE_WAIT connections reset
	CurrEstab   = "CurrEstab"   // a gauge, not a counter
)

var tcpFields = []struct {
	name string
	get  func(*procfs.Tcp) *float64
}{
	{OutRsts, func(t *procfs.Tcp) *float64 { return t.OutRsts }},
	{EstabResets, func(t *procfs.Tcp) *float64 { return t.EstabResets }},
	{CurrEstab, func(t *procfs.Tcp) *float64 { return t.CurrEstab }},
}

// readTCP reads the Tcp section of <task>/net/snmp through procfs.
func readTCP(d procDir) (Counters, error) {
	p, err := d.proc()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", d.netPath("snmp"), err)
	}
	s, err := p.Snmp()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", d.netPath("snmp"), err)
	}
	c := Counters{}
	for _, f := range tcpFields {
		c.fromFloat(f.name, f.get(&s.Tcp))
	}
	return c, nil
}
