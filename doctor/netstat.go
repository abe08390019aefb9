package doctor

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// TcpExt counters the rules read from /proc/net/netstat. Each name is the
// kernel's column header (include/uapi/linux/snmp.h, net/ipv4/proc.c).
const (
	ListenOverflows      = "ListenOverflows"      // accept queue full when the handshake completed
	ListenDrops          = "ListenDrops"          // any drop at a listener, overflows included
	EmbryonicRsts        = "EmbryonicRsts"        // resets sent for half-open requests (abort_on_overflow=1)
	TCPReqQFullDrop      = "TCPReqQFullDrop"      // SYN dropped, SYN queue full and no cookies (Linux 3.10+)
	TCPReqQFullDoCookies = "TCPReqQFullDoCookies" // SYN queue full, a syncookie sent instead (Linux 3.10+)
	SyncookiesSent       = "SyncookiesSent"
	SyncookiesRecv       = "SyncookiesRecv"
	SyncookiesFailed     = "SyncookiesFailed"
	TCPTimeWaitOverflow  = "TCPTimeWaitOverflow" // TIME_WAIT not created: tcp_max_tw_buckets reached
	TCPAbortOnMemory     = "TCPAbortOnMemory"    // connections killed for orphan count or tcp_mem
	TCPMemoryPressures   = "TCPMemoryPressures"  // entries into tcp_mem pressure
	TCPAbortOnData       = "TCPAbortOnData"      // reset sent: data arrived after close (keepalive race)
	TCPAbortOnClose      = "TCPAbortOnClose"     // reset sent: closed with unread data
	TCPAbortOnTimeout    = "TCPAbortOnTimeout"   // killed after keepalive/retransmission timeouts
	TCPAbortOnLinger     = "TCPAbortOnLinger"    // reset sent: linger timeout in FIN_WAIT2
	TCPSynRetrans        = "TCPSynRetrans"       // SYNs retransmitted (unanswered connects)
)

var tcpExtNames = []string{
	ListenOverflows, ListenDrops, EmbryonicRsts, TCPReqQFullDrop, TCPReqQFullDoCookies,
	SyncookiesSent, SyncookiesRecv, SyncookiesFailed, TCPTimeWaitOverflow, TCPAbortOnMemory, TCPMemoryPressures,
	TCPAbortOnData, TCPAbortOnClose, TCPAbortOnTimeout, TCPAbortOnLinger, TCPSynRetrans,
}

// readTCPExt reads the TcpExt section of <task>/net/netstat.
//
// Not through procfs: its v0.23.0 parser declares TCPAbortOnMemory and
// TCPMemoryPressures but never fills them, so they would read as absent on
// every kernel (see TestReadTCPExt).
func readTCPExt(d procDir) (Counters, error) {
	all, err := ReadNetstat(d.netPath("netstat"))
	if err != nil {
		return nil, err
	}
	c := Counters{}
	for _, n := range tcpExtNames {
		if v, ok := all["TcpExt"][n]; ok {
			c[n] = v
		}
	}
	return c, nil
}

// ReadNetstat reads a file in the format of /proc/net/netstat and
// /proc/net/snmp (see parseNetstat): section -> counter name -> value. The
// lab reads its namespace's counters through it too.
func ReadNetstat(path string) (map[string]map[string]uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	all, err := parseNetstat(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return all, nil
}

// parseNetstat parses the "Section: names" / "Section: values" line pairs of
// /proc/net/netstat and /proc/net/snmp. Columns a kernel does not print are
// simply absent. Values are unsigned except a few gauges the rules do not
// use (Tcp MaxConn is -1): those are skipped, not failed on.
func parseNetstat(r io.Reader) (map[string]map[string]uint64, error) {
	out := map[string]map[string]uint64{}
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64*1024), 1<<20) // TcpExt's header grows with each kernel
	line := 0
	for s.Scan() {
		line++
		head := strings.Fields(s.Text())
		if len(head) == 0 {
			continue
		}
		if !s.Scan() {
			return nil, fmt.Errorf("line %d: %s header without a values line", line, head[0])
		}
		line++
		vals := strings.Fields(s.Text())
		if len(vals) == 0 || vals[0] != head[0] {
			return nil, fmt.Errorf("line %d: values line does not match header %q", line, head[0])
		}
		if len(vals) != len(head) {
			return nil, fmt.Errorf("line %d: %s has %d names but %d values", line, strings.TrimSuffix(head[0], ":"), len(head)-1, len(vals)-1)
		}
		sec := strings.TrimSuffix(head[0], ":")
		m := out[sec]
		if m == nil {
			m = map[string]uint64{}
			out[sec] = m
		}
		for i := 1; i < len(head); i++ {
			v, err := strconv.ParseUint(vals[i], 10, 64)
			if err != nil {
				if _, ierr := strconv.ParseInt(vals[i], 10, 64); ierr == nil {
					continue // a negative gauge
				}
				return nil, fmt.Errorf("line %d: %s.%s: %q is not a number", line, sec, head[i], vals[i])
			}
			m[head[i]] = v
		}
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
