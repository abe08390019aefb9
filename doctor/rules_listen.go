package doctor

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tcptune/tcptune/sysctl"
	"github.com/tcptune/tcptune/validate"
)

// acceptQueueRule: ListenOverflows rising means a handshake completed while
// the listener's accept queue was full (tcp_check_req -> listen_overflow,
// net/ipv4/tcp_minisocks.c). What the client sees depends on
// tcp_abort_on_overflow.
func acceptQueueRule(w *Window, ls []ListenerReport) []Finding {
	ov, dOv, okOv := counterEvidence(w, "TcpExt", tcpExtOf, ListenOverflows)
	dr, dDr, okDr := counterEvidence(w, "TcpExt", tcpExtOf, ListenDrops)
	// ListenDrops counts overflows and other listener drops; use it alone
	// only on a kernel that does not print ListenOverflows.
	if !(okOv && dOv > 0) && !(!okOv && okDr && dDr > 0) {
		return nil
	}
	f := Finding{ID: "accept-queue-overflow", Severity: Critical}
	if okOv {
		f.Evidence = append(f.Evidence, ov)
	}
	if okDr {
		f.Evidence = append(f.Evidence, dr)
	}
	n := max(dOv, dDr)
	abort, haveAbort := w.After.Sysctls.Int(validate.KeyAbort, 0)
	if e, ok := sysctlEvidence(w.After.Sysctls, validate.KeyAbort); ok {
		f.Evidence = append(f.Evidence, e)
	}
	if e, ok := sysctlEvidence(w.After.Sysctls, keySomaxconn); ok {
		f.Evidence = append(f.Evidence, e)
	}
	full := busy(ls)
	for _, l := range full {
		f.Listeners = append(f.Listeners, l.Endpoint())
		f.Evidence = append(f.Evidence, listenerEvidence(l))
	}
	where := "a listener's accept queue"
	if len(full) > 0 {
		where = "the accept queue of " + strings.Join(f.Listeners, ", ")
	}
	window := windowText(w)
	keys := []sysctl.Key{keySomaxconn}
	if haveAbort && abort == 1 {
		for _, name := range []string{EmbryonicRsts} {
			if e, _, ok := counterEvidence(w, "TcpExt", tcpExtOf, name); ok {
				f.Evidence = append(f.Evidence, e)
			}
		}
		if e, _, ok := counterEvidence(w, "Tcp", tcpOf, OutRsts); ok {
			f.Evidence = append(f.Evidence, e)
		}
		f.Summary = fmt.Sprintf("%s overflowed %d times %s; with tcp_abort_on_overflow=1 clients get \"connection reset by peer\"", where, n, window)
		f.Explanation = "Connections completed the TCP handshake while the application was not calling accept() fast enough " +
			"and its accept queue was full. Because net.ipv4.tcp_abort_on_overflow is 1, the kernel answered each of them " +
			"with a reset (EmbryonicRsts and OutRsts rise): the client's connect() had already succeeded, so its first " +
			"read or write fails with \"connection reset by peer\" (ECONNRESET). Set tcp_abort_on_overflow back to 0 so the " +
			"kernel drops the final ACK instead and the client retransmits while the server catches up, and give the " +
			"listener a larger queue."
		keys = append(keys, validate.KeyAbort)
	} else {
		f.Summary = fmt.Sprintf("%s overflowed %d times %s; clients see slow or timed-out connects", where, n, window)
		f.Explanation = "Connections completed the TCP handshake while the application was not calling accept() fast enough " +
			"and its accept queue was full. With tcp_abort_on_overflow=0 the kernel ignores the client's final ACK and " +
			"retransmits its SYN-ACK (1 s, 3 s, 7 s ...; tcp_synack_retries): clients see connects and first requests " +
			"stall for seconds, and time out if the queue stays full. New SYNs to a full queue are dropped too."
		if !haveAbort {
			f.Explanation += " (net.ipv4.tcp_abort_on_overflow could not be read.)"
		}
	}
	f.Explanation += " The queue limit of a listener is min(backlog passed to listen(), net.core.somaxconn at the time of listen())."
	f.Fix = profileFix("high-concurrency", keys...)
	f.Fix.Restart = restartText(full, "the listening services")
	return []Finding{f}
}

// backlogBelowSomaxconnRule: a busy listener whose limit is below somaxconn
// gains nothing from raising somaxconn: it asked for a small backlog, or it
// listened before somaxconn was raised (the limit is fixed at listen()).
func backlogBelowSomaxconnRule(w *Window, ls []ListenerReport) []Finding {
	somax, ok := w.After.Sysctls.Int(keySomaxconn, 0)
	if !ok {
		return nil
	}
	var out []Finding
	for _, l := range busy(ls) {
		if !l.BelowSomaxconn {
			continue
		}
		f := Finding{ID: "listener-backlog-below-somaxconn", Severity: Warning, Listeners: []string{l.Endpoint()}}
		f.Summary = fmt.Sprintf("listener %s%s is %s with a limit of %d, below net.core.somaxconn=%d",
			l.Endpoint(), ownerText(l.Listener), l.Status, l.MaxQueue, somax)
		why := "the application passed a small backlog to listen()"
		switch l.MaxQueue {
		case 511:
			why = "511 is nginx's default backlog (listen ... backlog=N raises it)"
		case 128:
			why = "128 is a common default backlog (and the default somaxconn before Linux 5.4)"
		}
		f.Explanation = fmt.Sprintf("The accept queue limit is min(backlog, somaxconn) taken when the socket called listen(). "+
			"This listener's limit is %d while somaxconn is now %d: either %s, or it listened before somaxconn was raised. "+
			"Raising somaxconn does not change an existing listener; the service must listen again with a larger backlog.",
			l.MaxQueue, somax, why)
		f.Evidence = []Evidence{listenerEvidence(l), valueEvidence(keySomaxconn.String(), somax)}
		f.Fix = Fix{
			Keys:    []FixKey{},
			Command: backlogCommand(l, somax),
			Restart: restartText([]ListenerReport{l}, "the service listening on "+l.Endpoint()),
		}
		out = append(out, f)
	}
	return out
}

func backlogCommand(l ListenerReport, somax int64) string {
	if strings.Contains(l.Process, "nginx") {
		return fmt.Sprintf("in nginx.conf: listen %d backlog=%d; then restart nginx (a reload keeps the old socket)", l.Port, somax)
	}
	return fmt.Sprintf("raise the listen() backlog of the service on port %d to %d (or to -1 / SOMAXCONN to follow somaxconn), then restart it", l.Port, somax)
}

// synQueueRule: TCPReqQFullDrop counts SYNs dropped because the listener's
// SYN queue was full and no syncookie could be sent (tcp_conn_request,
// net/ipv4/tcp_input.c). Counter since Linux 3.10.
func synQueueRule(w *Window, ls []ListenerReport) []Finding {
	e, d, ok := counterEvidence(w, "TcpExt", tcpExtOf, TCPReqQFullDrop)
	if !ok || d == 0 {
		return nil
	}
	f := Finding{ID: "syn-queue-overflow", Severity: Critical, Evidence: []Evidence{e}}
	for _, k := range []sysctl.Key{validate.KeySyncookies, validate.KeySynBacklog, keySomaxconn} {
		if e, ok := sysctlEvidence(w.After.Sysctls, k); ok {
			f.Evidence = append(f.Evidence, e)
		}
	}
	f.Summary = fmt.Sprintf("%d SYNs dropped %s because a listener's SYN queue was full", d, windowText(w))
	f.Explanation = "New connection requests arrived faster than handshakes completed and the SYN queue had no room, " +
		"and no syncookie was sent (syncookies off, or the listener's accept queue full as well). Each dropped SYN costs " +
		"the client a retransmit: connects take 1 s, 3 s, 7 s longer or time out. A listener's SYN queue holds as many " +
		"requests as its accept queue limit; with syncookies off, tcp_max_syn_backlog also caps it."
	f.Fix = profileFix("syn-flood", validate.KeySyncookies, validate.KeySynBacklog, keySomaxconn)
	f.Fix.Restart = restartText(busy(ls), "")
	return []Finding{f}
}

// synFloodRule: the SYN queue overflowed and the kernel answered with
// syncookies ("Possible SYN flooding on port N. Sending cookies." in dmesg).
func synFloodRule(w *Window, _ []ListenerReport) []Finding {
	cookies, dc, okc := counterEvidence(w, "TcpExt", tcpExtOf, TCPReqQFullDoCookies)
	sent, ds, oks := counterEvidence(w, "TcpExt", tcpExtOf, SyncookiesSent)
	failed, df, okf := counterEvidence(w, "TcpExt", tcpExtOf, SyncookiesFailed)
	if !(okc && dc > 0) && !(oks && ds > 0) && !(okf && df > 0) {
		return nil
	}
	f := Finding{ID: "syn-flood", Severity: Warning}
	for _, x := range []struct {
		e  Evidence
		ok bool
	}{{cookies, okc}, {sent, oks}, {failed, okf}} {
		if x.ok {
			f.Evidence = append(f.Evidence, x.e)
		}
	}
	if e, ok := sysctlEvidence(w.After.Sysctls, validate.KeySyncookies); ok {
		f.Evidence = append(f.Evidence, e)
	}
	f.Summary = fmt.Sprintf("SYN queue overflowed %s: %d syncookies sent, %d invalid cookies received", windowText(w), max(dc, ds), df)
	f.Explanation = "More half-open connections arrived than a listener's SYN queue holds, and the kernel answered with " +
		"syncookies instead of queue slots. Legitimate clients still connect, but connections set up by a cookie lose " +
		"some TCP options (window scaling is kept only with timestamps). Many cookies with few completed connections, or " +
		"rising SyncookiesFailed, point at a SYN flood; a burst of real clients on a listener with a small backlog looks the same."
	f.Fix = profileFix("syn-flood", validate.KeySyncookies, validate.KeySynBacklog, keySynackRetries)
	return []Finding{f}
}

func listenerEvidence(l ListenerReport) Evidence {
	return Evidence{
		Name:  "listener " + l.Endpoint() + ownerText(l.Listener),
		Value: fmt.Sprintf("queue %d (peak %d) of max %d: %s%s", l.Queue, l.PeakQueue, l.MaxQueue, l.Status, dropsText(l)),
	}
}

func dropsText(l ListenerReport) string {
	if l.DropsDelta == nil || *l.DropsDelta == 0 {
		return ""
	}
	return fmt.Sprintf("; refused %d with a full queue (its drop counter)", *l.DropsDelta)
}

func ownerText(l Listener) string {
	if l.PID == 0 {
		return ""
	}
	return fmt.Sprintf(" (%s, pid %d)", l.Process, l.PID)
}

// restartText names the processes that must listen again.
func restartText(ls []ListenerReport, fallback string) string {
	var names []string
	for _, l := range ls {
		n := l.Endpoint()
		if l.PID != 0 {
			n = fmt.Sprintf("%s (pid %d, %s)", l.Process, l.PID, l.Endpoint())
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		if fallback == "" {
			return ""
		}
		return "restart " + fallback + " after applying: a listener keeps the queue limit it got at listen()"
	}
	return "restart " + strings.Join(names, ", ") + " after applying: a listener keeps the queue limit it got at listen()"
}

// windowText says over what the counters were taken.
func windowText(w *Window) string {
	if w.SinceBoot() {
		return "since boot"
	}
	return fmt.Sprintf("in %.1fs", w.Interval.Seconds())
}
