package doctor

import "fmt"

// keepaliveRaceRule: the counter signature of the keepalive race (and of
// early closes). When a server closes an idle keep-alive connection and
// the client sends on it anyway, the closing side resets it: TCPAbortOnData
// counts data that arrived after close (tcp_rcv_state_process, FIN-WAIT),
// TCPAbortOnClose a close with unread data (the request arrived just before
// the close). No queue overflows: this is not a burst. The reason per reset
// is only in the tracepoint, hence the pointer to doctor --trace.
// Interval mode only: since-boot totals of these counters say nothing
// about now.
func keepaliveRaceRule(w *Window, _ []ListenerReport) []Finding {
	if w.SinceBoot() {
		return nil
	}
	data, dData, ok1 := counterEvidence(w, "TcpExt", tcpExtOf, "TCPAbortOnData")
	cls, dClose, ok2 := counterEvidence(w, "TcpExt", tcpExtOf, "TCPAbortOnClose")
	if !ok1 && !ok2 || dData+dClose == 0 {
		return nil
	}
	if _, dOverflow, ok := counterEvidence(w, "TcpExt", tcpExtOf, "ListenOverflows"); !ok || dOverflow > 0 {
		return nil // overflows: accept-queue-overflow explains the resets
	}
	f := Finding{ID: "probable-keepalive-race", Severity: Warning}
	for i, e := range []Evidence{data, cls} {
		if []bool{ok1, ok2}[i] {
			f.Evidence = append(f.Evidence, e)
		}
	}
	if e, _, ok := counterEvidence(w, "Tcp", tcpOf, "OutRsts"); ok {
		f.Evidence = append(f.Evidence, e)
	}
	f.Summary = fmt.Sprintf("%d connection(s) reset %s after this side closed them (data after close: %d, unread at close: %d), with no queue overflow",
		dData+dClose, windowText(w), dData, dClose)
	f.Explanation = "A server here closed keep-alive connections that a client then used: the client's pooled " +
		"connection outlived the server's keepalive timeout and its next request raced the close, and the client read " +
		"'connection reset by peer' or EOF. No sysctl fixes this: the client's idle timeout must be shorter than the " +
		"server's keepalive timeout (Go http.Transport.IdleConnTimeout < nginx keepalive_timeout; nginx upstream " +
		"keepalive_timeout < the backend's idle timeout). 'tcptune doctor --trace 60s' names each reset's kernel reason, " +
		"listener and peer. The client's side shows nothing here: resets received are the other host's story."
	f.Fix = Fix{Command: "tcptune doctor --trace 60s"}
	return []Finding{f}
}
