package doctor

import (
	"fmt"
	"strconv"

	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
	"github.com/tcptune/tcptune/validate"
)

// softnetRule: softnet_stat's dropped column counts packets dropped because
// a CPU's input backlog (netdev_max_backlog) was full (enqueue_to_backlog,
// net/core/dev.c). Host-wide.
func softnetRule(w *Window, _ []ListenerReport) []Finding {
	if w.After.Softnet == nil {
		return nil
	}
	d := *w.After.Softnet
	if w.Before != nil {
		if w.Before.Softnet == nil {
			return nil
		}
		var ok bool
		if d, ok = w.After.Softnet.delta(*w.Before.Softnet); !ok {
			return nil
		}
	}
	if d.Dropped == 0 {
		return nil
	}
	f := Finding{ID: "softnet-drops", Severity: Warning}
	f.Evidence = []Evidence{
		valueEvidence("softnet_stat.dropped", d.Dropped),
		valueEvidence("softnet_stat.time_squeeze", d.TimeSqueezed),
	}
	keys := []sysctl.Key{keyNetdevMaxBacklog}
	for _, k := range []sysctl.Key{keyNetdevMaxBacklog, keyNetdevBudget, keyNetdevBudgetUsecs} {
		if e, ok := sysctlEvidence(w.After.Sysctls, k); ok {
			f.Evidence = append(f.Evidence, e)
		}
	}
	f.Summary = fmt.Sprintf("%d packets dropped %s at the CPUs' input backlog (%d CPUs, host-wide)", d.Dropped, windowText(w), d.CPUs)
	f.Explanation = "Packets arrived faster than the kernel's receive processing ran, and the per-CPU input queue " +
		"(net.core.netdev_max_backlog packets) overflowed: the packets were dropped before TCP saw them, so senders " +
		"retransmit and connections slow down. This is host-wide: it affects every namespace and can only be changed on the host."
	if d.TimeSqueezed > 0 {
		f.Explanation += " time_squeeze also rose: the receive softirq ran out of its budget (net.core.netdev_budget packets, " +
			"netdev_budget_usecs) with packets still waiting; raise netdev_budget too."
	}
	f.Fix = profileFix("high-concurrency", keys...)
	if d.TimeSqueezed > 0 {
		f.Fix.Keys = append(f.Fix.Keys, fixKey(keyNetdevBudget, "600"))
	}
	return []Finding{f}
}

// ephemeralPortRule: every outgoing connection to the same destination needs
// its own local port; TIME_WAIT sockets keep theirs for 60 s.
func ephemeralPortRule(w *Window, _ []ListenerReport) []Finding {
	st := w.After.Sockstat
	if st == nil || st.TW == nil {
		return nil
	}
	lo, ok1 := w.After.Sysctls.Int(validate.KeyPortRange, 0)
	hi, ok2 := w.After.Sysctls.Int(validate.KeyPortRange, 1)
	if !ok1 || !ok2 || hi < lo {
		return nil
	}
	size := hi - lo + 1
	tw := int64(*st.TW)
	if tw*2 < size {
		return nil
	}
	f := Finding{ID: "ephemeral-port-pressure", Severity: Warning}
	if tw*10 >= size*9 {
		f.Severity = Critical
	}
	f.Evidence = []Evidence{valueEvidence("sockstat.TCP.tw", tw)}
	for _, k := range []sysctl.Key{validate.KeyPortRange, validate.KeyTwReuse} {
		if e, ok := sysctlEvidence(w.After.Sysctls, k); ok {
			f.Evidence = append(f.Evidence, e)
		}
	}
	f.Summary = fmt.Sprintf("%d sockets in TIME_WAIT against %d ephemeral ports (%d%%)", tw, size, tw*100/size)
	f.Explanation = "A client that opens and closes many short connections (nginx to its upstreams, a pool without keep-alive) " +
		"leaves each closed connection in TIME_WAIT for 60 s, holding its local port. When TIME_WAIT sockets approach the " +
		"size of net.ipv4.ip_local_port_range, connect() fails with EADDRNOTAVAIL (\"cannot assign requested address\") or " +
		"slows down searching for a free port. The count includes server-side TIME_WAIT, which holds no ephemeral port, " +
		"so treat it as an upper bound. A wider range and tcp_tw_reuse=1 help; keeping connections alive helps most."
	f.Fix = profileFix("high-concurrency", validate.KeyPortRange, validate.KeyTwReuse)
	return []Finding{f}
}

// timeWaitOverflowRule: TCPTimeWaitOverflow counts connections that closed
// without a TIME_WAIT socket because tcp_max_tw_buckets was reached
// (tcp_time_wait, net/ipv4/tcp_minisocks.c; "TCP: time wait bucket table
// overflow" in dmesg).
func timeWaitOverflowRule(w *Window, _ []ListenerReport) []Finding {
	e, d, ok := counterEvidence(w, "TcpExt", tcpExtOf, TCPTimeWaitOverflow)
	if !ok || d == 0 {
		return nil
	}
	f := Finding{ID: "time-wait-bucket-overflow", Severity: Warning, Evidence: []Evidence{e}}
	suggest := "262144"
	if e2, ok := sysctlEvidence(w.After.Sysctls, keyMaxTwBuckets); ok {
		f.Evidence = append(f.Evidence, e2)
		if n, ok := w.After.Sysctls.Int(keyMaxTwBuckets, 0); ok && n*2 > 262144 {
			suggest = strconv.FormatInt(n*2, 10)
		}
	}
	f.Summary = fmt.Sprintf("%d connections closed %s without TIME_WAIT: net.ipv4.tcp_max_tw_buckets reached", d, windowText(w))
	f.Explanation = "The kernel keeps at most tcp_max_tw_buckets sockets in TIME_WAIT; beyond it, closing connections skip " +
		"TIME_WAIT. Delayed segments of an old connection can then be taken for a new one on the same ports. It also says " +
		"this host closes connections at a very high rate: connection reuse (keep-alive) is the real cure."
	f.Fix = keyFix(keyMaxTwBuckets, suggest, profiles.OpAtLeast)
	return []Finding{f}
}

// orphanRule: orphans are closed sockets the kernel still finishes (FIN_WAIT,
// LAST_ACK, CLOSING); past tcp_max_orphans they are reset at once
// ("too many orphaned sockets", tcp_check_oom, net/ipv4/tcp.c).
func orphanRule(w *Window, _ []ListenerReport) []Finding {
	st := w.After.Sockstat
	limit, okLimit := w.After.Sysctls.Int(keyMaxOrphans, 0)
	if st == nil || st.Orphan == nil || !okLimit || limit <= 0 {
		return nil
	}
	orphans := int64(*st.Orphan)
	abortE, dAbort, okAbort := counterEvidence(w, "TcpExt", tcpExtOf, TCPAbortOnMemory)
	if orphans*2 < limit {
		return nil
	}
	f := Finding{ID: "orphan-pressure", Severity: Warning}
	if orphans >= limit {
		f.Severity = Critical
	}
	f.Evidence = []Evidence{valueEvidence("sockstat.TCP.orphan", orphans), valueEvidence(keyMaxOrphans.String(), limit)}
	if okAbort {
		f.Evidence = append(f.Evidence, abortE)
	}
	f.Summary = fmt.Sprintf("%d orphaned TCP sockets, %d%% of net.ipv4.tcp_max_orphans=%d", orphans, orphans*100/limit, limit)
	if okAbort && dAbort > 0 {
		f.Summary += fmt.Sprintf("; %d connections aborted for memory %s", dAbort, windowText(w))
	}
	f.Explanation = "Orphans are connections the application has closed but the kernel is still shutting down (FIN_WAIT, " +
		"LAST_ACK). Past tcp_max_orphans the kernel resets them at once and logs \"too many orphaned sockets\"; peers see " +
		"resets and truncated responses. Shorter FIN_WAIT-2 (tcp_fin_timeout) drains them faster; each orphan can hold " +
		"up to about 64 KB, so raise tcp_max_orphans only with memory to spare."
	f.Fix = profileFix("fail-fast", keyFinTimeout)
	f.Fix.Keys = append(f.Fix.Keys, fixKey(keyMaxOrphans, strconv.FormatInt(limit*2, 10)))
	return []Finding{f}
}

// tcpMemoryRule: TCP memory past tcp_mem[1] enters pressure (buffers
// shrink); past tcp_mem[2] allocations fail and connections are aborted.
func tcpMemoryRule(w *Window, _ []ListenerReport) []Finding {
	pe, dp, okp := counterEvidence(w, "TcpExt", tcpExtOf, TCPMemoryPressures)
	ae, da, oka := counterEvidence(w, "TcpExt", tcpExtOf, TCPAbortOnMemory)
	var mem int64 = -1
	if st := w.After.Sockstat; st != nil && st.Mem != nil {
		mem = int64(*st.Mem)
	}
	pressure, okPressure := w.After.Sysctls.Int(keyTCPMem, 1)
	overPressure := mem >= 0 && okPressure && pressure > 0 && mem >= pressure
	orphansHigh := false
	if st := w.After.Sockstat; st != nil && st.Orphan != nil {
		if limit, ok := w.After.Sysctls.Int(keyMaxOrphans, 0); ok && int64(*st.Orphan)*2 >= limit {
			orphansHigh = true // orphanRule explains the aborts
		}
	}
	if !(okp && dp > 0) && !overPressure && !(oka && da > 0 && !orphansHigh) {
		return nil
	}
	f := Finding{ID: "tcp-memory-pressure", Severity: Warning}
	if okp {
		f.Evidence = append(f.Evidence, pe)
	}
	if oka {
		f.Evidence = append(f.Evidence, ae)
		if da > 0 {
			f.Severity = Critical
		}
	}
	if mem >= 0 {
		f.Evidence = append(f.Evidence, valueEvidence("sockstat.TCP.mem_pages", mem))
	}
	if e, ok := sysctlEvidence(w.After.Sysctls, keyTCPMem); ok {
		f.Evidence = append(f.Evidence, e)
	}
	f.Summary = fmt.Sprintf("TCP memory under pressure %s (%d pressure entries, %d connections aborted for memory)", windowText(w), dp, da)
	f.Explanation = "All TCP sockets together use more memory than net.ipv4.tcp_mem's middle value (pages): the kernel " +
		"shrinks socket buffers, throughput drops, and past the third value it aborts connections (TCPAbortOnMemory, " +
		"\"out of memory -- consider tuning tcp_mem\" in dmesg). Usually many connections with full buffers: slow readers, " +
		"or large tcp_rmem/tcp_wmem maxima. tcp_mem is host-wide."
	suggest := "raise all three fields (pages)"
	if lo, ok := w.After.Sysctls.Int(keyTCPMem, 0); ok {
		hi, _ := w.After.Sysctls.Int(keyTCPMem, 2)
		suggest = sysctl.IntsValue(lo*2, pressure*2, hi*2).String()
	}
	f.Fix = keyFix(keyTCPMem, suggest, profiles.OpAtLeast)
	return []Finding{f}
}
