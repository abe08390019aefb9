package doctor

import "fmt"

// resetsReceivedRule: connections reset while established, more than this
// side's own aborts explain, were reset by their peers. Tcp.EstabResets
// counts every ESTABLISHED/CLOSE-WAIT -> CLOSED transition (tcp_set_state,
// net/ipv4/tcp.c), sent or received; the TcpExt.TCPAbortOn* counters are
// the ones this side sent. The reason of a received reset is known only to
// the peer's kernel: the finding says so and how to find which peer.
// Interval mode only.
func resetsReceivedRule(w *Window, _ []ListenerReport) []Finding {
	if w.SinceBoot() {
		return nil
	}
	est, dEst, ok := counterEvidence(w, "Tcp", tcpOf, "EstabResets")
	if !ok || dEst == 0 {
		return nil
	}
	var own uint64
	for _, n := range []string{"TCPAbortOnData", "TCPAbortOnClose", "TCPAbortOnMemory", "TCPAbortOnTimeout", "TCPAbortOnLinger"} {
		if _, d, ok := counterEvidence(w, "TcpExt", tcpExtOf, n); ok {
			own += d
		}
	}
	if dEst <= own {
		return nil
	}
	f := Finding{ID: "resets-received", Severity: Warning, Evidence: []Evidence{est, valueEvidence("TcpExt.TCPAbortOn* (resets sent)", own)}}
	f.Summary = fmt.Sprintf("%d established connection(s) reset by their peers %s", dEst-own, windowText(w))
	f.Explanation = "Connections here were reset by the other side (clients read \"connection reset by peer\"): this host " +
		"did not send those resets, so nothing here says why, and no setting here fixes it. The reason is in the peer's " +
		"kernel: run 'tcptune doctor --trace 60s' here to see which remote endpoints reset, then on those hosts (or " +
		"namespaces) to see their cause (accept-queue overflow, keepalive race, a closed port, ...)."
	f.Fix = Fix{Command: "tcptune doctor --trace 60s"}
	return []Finding{f}
}
