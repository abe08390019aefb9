package doctor

import (
	"errors"
	"fmt"
	"io/fs"
)

// Why the SYN-SENT sockets cost what they cost.
//
// The kernel keeps no list of SYN-SENT sockets: inet_diag finds them by
// walking the established hash (net/ipv4/inet_diag.c, inet_diag_dump_icsk),
// one table for every network namespace on the machine, and applies the state
// filter to each socket it meets. At 200k sockets that walk is 30-60 ms of
// kernel time, the whole of doctor's growth with connection count (the
// LISTEN dump walks only the listening hash).
//
// The gate proves from counters the kernel keeps per namespace that there is
// no SYN-SENT socket to find, and then skips the walk:
//
//   - sockstat "TCP: inuse" and sockstat6 "TCP6: inuse" count every hashed
//     TCP socket of the namespace (sock_prot_inuse_add in __inet_hash for
//     listeners, inet_ehash_nolisten and __inet_check_established for
//     connections, -1 in inet_unhash and when a socket becomes TIME-WAIT in
//     the hash dance): listeners and full sockets in every state from
//     SYN-SENT to LAST-ACK. Not TIME-WAIT, not request sockets (SYN-RECV
//     minisocks are inserted with inet_ehash_insert, which does not count).
//   - snmp Tcp CurrEstab counts ESTABLISHED sockets (tcp_set_state), and
//     CLOSE-WAIT too since Linux 6.10 and the stable kernels that took that
//     fix; never a SYN-SENT one, and v4 and v6 alike (one MIB per namespace).
//   - the LISTEN dump counts the listeners.
//
// inuse - listeners - CurrEstab is therefore the number of hashed sockets in
// any other state (SYN-SENT, SYN-RECV with Fast Open, FIN-WAIT, CLOSING,
// LAST-ACK, CLOSE-WAIT on older kernels), and every SYN-SENT socket is among
// them. When it is 0 there is none; when it is anything else (negative means
// the counters contradict each other) the table is walked as before.
//
// The three sources are separate reads, not one atomic view. The counters are
// read before and after the LISTEN dump and must agree; CurrEstab is read
// before inuse, so a connection established between the two raises the
// count (a walk), never lowers it. What is left: established sockets that
// vanish (reset) and new ones that complete in exactly balancing numbers
// within the fraction of a millisecond the reading takes, on a namespace
// whose only other non-established socket is a SYN-SENT one. The rule built on it needs a
// connect that has already waited a retransmission (a second or more) and, in
// the default two-reading mode, was seen in both readings.
//
// On a busy machine some FIN-WAIT, LAST-ACK or CLOSE-WAIT sockets nearly
// always exist, the count is above 0 and the walk is paid, as `ss -t state
// syn-sent` pays it: the gate makes a machine with only established
// connections (and TIME-WAIT) cost what an empty one does, not every machine.

// SynSentScan records how a Snapshot learned its SYN-SENT sockets.
type SynSentScan struct {
	// Walked: the socket table was walked (an inet_diag dump); false when
	// the gate proved there was nothing to find.
	Walked bool
	// Gate is what the counters said; nil when the gate was not tried
	// (Source.GateConnecting off).
	Gate *SynSentGate
}

// SynSentGate is one application of the gate.
type SynSentGate struct {
	// InUse is sockstat's TCP inuse plus sockstat6's TCP6 inuse.
	InUse int
	// Listeners is the number of LISTEN sockets the dump returned.
	Listeners int
	// CurrEstab is snmp's Tcp CurrEstab.
	CurrEstab uint64
	// Steady: the counters read the same before and after the LISTEN dump.
	Steady bool
	// Walk says why the table had to be walked; empty when the gate proved
	// there is no SYN-SENT socket.
	Walk string
}

// Others returns InUse - Listeners - CurrEstab: the hashed sockets neither
// listening nor established. Negative when the counters contradict each other.
func (g SynSentGate) Others() int64 {
	if g.CurrEstab > uint64(g.InUse) {
		return -1
	}
	return int64(g.InUse) - int64(g.Listeners) - int64(g.CurrEstab)
}

// gateCounts is one reading of the counters the gate compares.
type gateCounts struct {
	inUse     int
	currEstab uint64
}

// readGateCounts reads Tcp CurrEstab, then TCP and TCP6 inuse (see the order
// argument above).
func readGateCounts(d procDir) (gateCounts, error) {
	tcp, err := readTCP(d)
	if err != nil {
		return gateCounts{}, err
	}
	est, ok := tcp.Get(CurrEstab)
	if !ok {
		return gateCounts{}, fmt.Errorf("%s: no Tcp CurrEstab", d.netPath("snmp"))
	}
	st, err := readSockstat(d)
	if err != nil {
		return gateCounts{}, err
	}
	if st.InUse == nil {
		return gateCounts{}, fmt.Errorf("%s: no TCP inuse", d.netPath("sockstat"))
	}
	v6, err := readSockstat6InUse(d)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		v6 = 0 // no IPv6 in this kernel (ipv6.disable=1, or not built): no AF_INET6 socket can exist
	case err != nil:
		return gateCounts{}, err
	}
	return gateCounts{inUse: *st.InUse + v6, currEstab: est}, nil
}

// judgeGate compares the readings before (first) and after (second) the LISTEN
// dump with its count of listeners.
func judgeGate(first, second gateCounts, listeners int) SynSentGate {
	g := SynSentGate{InUse: first.inUse, Listeners: listeners, CurrEstab: first.currEstab, Steady: first == second}
	switch {
	case !g.Steady:
		g.Walk = fmt.Sprintf("sockets changed state during the reading (inuse %d -> %d, CurrEstab %d -> %d)",
			first.inUse, second.inUse, first.currEstab, second.currEstab)
	case g.Others() < 0:
		g.Walk = fmt.Sprintf("the counters disagree (inuse %d, listeners %d, CurrEstab %d)", g.InUse, g.Listeners, g.CurrEstab)
	case g.Others() > 0:
		g.Walk = fmt.Sprintf("%d socket(s) neither listening nor established", g.Others())
	}
	return g
}
