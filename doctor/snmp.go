package doctor

// Tcp counters the rules read from /proc/net/snmp (RFC 4022 names).
const (
	OutRsts     = "OutRsts"     // segments sent with RST
	EstabResets = "EstabResets" // ESTABLISHED/CLOSE_WAIT connections reset
	CurrEstab   = "CurrEstab"   // a gauge, not a counter
)

var tcpNames = []string{OutRsts, EstabResets, CurrEstab}

// readTCP reads the Tcp section of <task>/net/snmp, which has the same
// header/values line pairs as net/netstat. (Not through prometheus/procfs:
// linking it compiles some 20 regexps at start-up on every tcptune run,
// doctor or not, about 0.6 M instructions.)
func readTCP(d procDir) (Counters, error) {
	all, err := ReadNetstat(d.netPath("snmp"))
	if err != nil {
		return nil, err
	}
	c := Counters{}
	for _, n := range tcpNames {
		if v, ok := all["Tcp"][n]; ok {
			c[n] = v
		}
	}
	return c, nil
}
