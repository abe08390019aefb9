package validate

import (
	"fmt"

	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

// Keys that doctor's rules read too: declared once, here, with the other
// kernel facts (the catalog), and used by both packages.
var (
	KeyPortRange  = sysctl.Known("net.ipv4.ip_local_port_range", "net/ipv4/ip_local_port_range")
	KeyAbort      = sysctl.Known("net.ipv4.tcp_abort_on_overflow", "net/ipv4/tcp_abort_on_overflow")
	KeySynBacklog = sysctl.Known("net.ipv4.tcp_max_syn_backlog", "net/ipv4/tcp_max_syn_backlog")
	KeySyncookies = sysctl.Known("net.ipv4.tcp_syncookies", "net/ipv4/tcp_syncookies")
	KeyTwReuse    = sysctl.Known("net.ipv4.tcp_tw_reuse", "net/ipv4/tcp_tw_reuse")
)

var (
	keyRmem         = sysctl.Known("net.ipv4.tcp_rmem", "net/ipv4/tcp_rmem")
	keyWmem         = sysctl.Known("net.ipv4.tcp_wmem", "net/ipv4/tcp_wmem")
	keyReserved     = sysctl.Known("net.ipv4.ip_local_reserved_ports", "net/ipv4/ip_local_reserved_ports")
	keyUnprivStart  = sysctl.Known("net.ipv4.ip_unprivileged_port_start", "net/ipv4/ip_unprivileged_port_start")
	keyCongestion   = sysctl.Known("net.ipv4.tcp_congestion_control", "net/ipv4/tcp_congestion_control")
	keyAvailableCCs = sysctl.Known("net.ipv4.tcp_available_congestion_control", "net/ipv4/tcp_available_congestion_control")
)

// rules runs the checks that span several keys. A rule only looks at values
// that passed the per-key checks; a broken value has its own error already.
func (c *checker) rules() {
	c.bufferOrder(keyRmem)
	c.bufferOrder(keyWmem)
	c.portRange()
	c.abortOnOverflow()
	c.synBacklog()
	c.twReuseTimestamps()
}

var (
	keyTimestamps = sysctl.Known("net.ipv4.tcp_timestamps", "net/ipv4/tcp_timestamps")
)

// twReuseTimestamps: tcp_twsk_unique (net/ipv4/tcp_ipv4.c) reuses a
// TIME-WAIT socket for a new outgoing connection only when it carries a
// timestamp (tcptw->tw_ts_recent_stamp), so tcp_tw_reuse does nothing with
// tcp_timestamps = 0.
func (c *checker) twReuseTimestamps() {
	tr, inTr := c.r.Setting(KeyTwReuse)
	ts, inTs := c.r.Setting(keyTimestamps)
	if !inTr && !inTs {
		return
	}
	reuse, _, ok1 := c.effective(KeyTwReuse, 1)
	stamps, from, ok2 := c.effective(keyTimestamps, 1)
	if !ok1 || !ok2 || reuse[0] == 0 || stamps[0] != 0 {
		return
	}
	at := tr
	if !inTr {
		at = ts
	}
	c.add(SevWarning, at, at.ValuePos, "keep net.ipv4.tcp_timestamps at 1 (or 2), or drop tcp_tw_reuse",
		"tcp_tw_reuse = %d needs TCP timestamps, but tcp_timestamps is 0 (%s): no TIME-WAIT socket is ever reused", reuse[0], from)
}

// effective is the value a key will have after apply, for rules that need a
// key the profile may not set: the profile's value, else the live value
// (--kernel), else the kernel's default. from says which, for messages. ok
// is false when none is known (a default computed at boot, no --kernel).
func (c *checker) effective(k sysctl.Key, fields int) (ns []int64, from string, ok bool) {
	if s, in := c.r.Setting(k); in {
		ns, err := s.Value.Ints()
		return ns, "set by profile " + s.Profile, err == nil && len(ns) == fields
	}
	if c.k != nil && c.k.FS != nil {
		if v, err := c.k.FS.Read(k); err == nil {
			ns, err := v.Ints()
			return ns, "live value", err == nil && len(ns) == fields
		}
	}
	if t, known := Lookup(k); known && t.Default != "" {
		ns, err := t.Default.Ints()
		return ns, "kernel default", err == nil && len(ns) == fields
	}
	return nil, "", false
}

// effectivePorts is effective for ip_local_reserved_ports; its default is
// the empty list.
func (c *checker) effectivePorts() (rs []portRange, from string, ok bool) {
	if s, in := c.r.Setting(keyReserved); in {
		rs, err := parsePorts(string(s.Value))
		return rs, "set by profile " + s.Profile, err == nil
	}
	if c.k != nil && c.k.FS != nil {
		if v, err := c.k.FS.Read(keyReserved); err == nil {
			rs, err := parsePorts(string(v))
			return rs, "live value", err == nil
		}
	}
	return nil, "kernel default", true
}

// bufferOrder: tcp_rmem and tcp_wmem are min, default, max. The kernel
// stores any order, but a socket then starts above its own maximum or
// autotunes below its minimum.
func (c *checker) bufferOrder(k sysctl.Key) {
	s, in := c.r.Setting(k)
	ns, _, ok := c.effective(k, 3)
	if !in || !ok {
		return
	}
	if ns[0] > ns[1] || ns[1] > ns[2] {
		c.add(SevError, s, s.ValuePos, "write them as min <= default <= max",
			"min %d, default %d and max %d are out of order", ns[0], ns[1], ns[2])
	}
}

// portRange checks ip_local_port_range against itself,
// ip_unprivileged_port_start and ip_local_reserved_ports. It runs when the
// profile sets any of the three; the diagnostic goes to the setting the
// profile has, the port range first.
func (c *checker) portRange() {
	rangeSet, hasRange := c.r.Setting(KeyPortRange)
	startSet, hasStart := c.r.Setting(keyUnprivStart)
	resSet, hasRes := c.r.Setting(keyReserved)
	if !hasRange && !hasStart && !hasRes {
		return
	}
	pr, prFrom, ok := c.effective(KeyPortRange, 2)
	if !ok {
		return
	}
	lo, hi := pr[0], pr[1]
	if hasRange {
		if hi < lo {
			c.add(SevError, rangeSet, rangeSet.ValuePos, "write the low end first",
				"high end %d is below low end %d; the kernel refuses the write", hi, lo)
			return
		}
		if lo%2 == hi%2 {
			c.add(SevWarning, rangeSet, rangeSet.ValuePos, fmt.Sprintf("use %d %d", lo, otherParity(hi)),
				"low %d and high %d have the same parity; ip-sysctl.rst advises different parity, and the kernel logs \"prefer different parity for start/end values\"", lo, hi)
		}
	}
	if st, stFrom, ok := c.effective(keyUnprivStart, 1); ok && lo < st[0] && (hasRange || hasStart) {
		// The kernel checks both ways: a new range may not start below
		// the unprivileged ports, nor may the start move above the range.
		if hasRange {
			c.add(SevError, rangeSet, rangeSet.ValuePos,
				fmt.Sprintf("raise the low end to at least %d, or lower %s in the profile", st[0], keyUnprivStart),
				"low end %d is below ip_unprivileged_port_start %d (%s); the kernel refuses the write", lo, st[0], stFrom)
		} else {
			c.add(SevError, startSet, startSet.ValuePos,
				fmt.Sprintf("keep it at most %d, or raise the low end of %s in the profile", lo, KeyPortRange),
				"%d is above the low end %d of ip_local_port_range (%s); the kernel refuses the write", st[0], lo, prFrom)
		}
	}
	if !hasRange && !hasRes {
		return
	}
	rs, resFrom, ok := c.effectivePorts()
	if !ok {
		return
	}
	if n := overlap(rs, int(lo), int(hi)); n > 0 {
		at := rangeSet
		if !hasRange {
			at = resSet
		}
		size := int(hi-lo) + 1
		c.add(SevWarning, at, at.ValuePos,
			fmt.Sprintf("intended if services listen there; otherwise move the reserved ports out of %d-%d", lo, hi),
			"%d of the %d ports in %d-%d are reserved by ip_local_reserved_ports (%s), leaving %d for outgoing connections",
			n, size, lo, hi, resFrom, size-n)
	}
}

// otherParity returns a neighbour of hi of the other parity within 1..65535.
func otherParity(hi int64) int64 {
	if hi < 65535 {
		return hi + 1
	}
	return hi - 1
}

// abortOnOverflow: with 1, a full accept queue resets the connection the
// client thinks is established, which is the "connection reset by peer" this
// tool exists to cure.
func (c *checker) abortOnOverflow() {
	s, in := c.r.Setting(KeyAbort)
	if !in || s.Value != "1" {
		return
	}
	c.add(SevWarning, s, s.ValuePos,
		"keep 0 and size the accept queue (net.core.somaxconn and the listen() backlog); use 1 only when clients must fail at once",
		"tcp_abort_on_overflow = 1 answers a full accept queue with a reset: clients see \"connection reset by peer\" during bursts instead of a delayed connect")
}

// synBacklog: tcp_conn_request (net/ipv4/tcp_input.c) consults
// tcp_max_syn_backlog only when tcp_syncookies is 0; otherwise a full SYN
// queue (bounded by the listen backlog) falls back to cookies.
func (c *checker) synBacklog() {
	s, in := c.r.Setting(KeySynBacklog)
	if !in {
		return
	}
	sc, from, ok := c.effective(KeySyncookies, 1)
	if !ok || sc[0] == 0 {
		return
	}
	c.add(SevNote, s, s.Pos,
		"the SYN queue is bounded by the listen backlog, min(backlog, net.core.somaxconn)",
		"only matters with tcp_syncookies = 0; here tcp_syncookies is %d (%s), so a full SYN queue is answered with cookies instead", sc[0], from)
}

// congestionControl (--kernel only) checks that the algorithm is available.
func (c *checker) congestionControl(s profiles.Setting) {
	v, err := c.k.FS.Read(keyAvailableCCs)
	if err != nil {
		return // could not tell; the write will
	}
	for _, f := range v.Fields() {
		if f == string(s.Value) {
			return
		}
	}
	c.add(SevWarning, s, s.ValuePos,
		fmt.Sprintf("the kernel loads module tcp_%s on write if it exists; otherwise apply fails", s.Value),
		"%q is not among this kernel's available algorithms (%s)", string(s.Value), v)
}
