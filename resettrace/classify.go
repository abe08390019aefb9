package resettrace

// Cause is what a reset says about the system, in tcptune's words.
type Cause string

// The causes. Each maps one or more kernel reasons (enum sk_rst_reason) or,
// without a reason, a socket state.
const (
	// AcceptQueueOverflow: a full accept queue answered the handshake's
	// last ACK with a reset (tcp_abort_on_overflow=1). The listener's
	// socket (state LISTEN) sends it.
	AcceptQueueOverflow Cause = "accept-queue-overflow"
	// KeepaliveRace: the peer sent on a connection this side had already
	// closed (TCP_TIMEWAIT_SOCKET: the closed socket is in TIME-WAIT or
	// FIN-WAIT-2; TCP_ABORT_ON_DATA: data after close).
	KeepaliveRace Cause = "keepalive-race"
	// UnreadData: the application closed a connection with data it never
	// read (TCP_ABORT_ON_CLOSE, TCP_DISCONNECT_WITH_DATA).
	UnreadData Cause = "close-with-unread-data"
	// LingerAbort: an abortive close, SO_LINGER {1, 0} (TCP_STATE from
	// tcp_disconnect) or a negative TCP_LINGER2 (TCP_ABORT_ON_LINGER).
	LingerAbort Cause = "linger-abort"
	// NoListener: a segment for a port nobody listens on (NO_SOCKET).
	NoListener Cause = "no-listener"
	// ListenerClosed: a listener closed (service stop or restart) with
	// connections still in its accept queue; each is reset (TCP_STATE
	// from tcp_disconnect on a socket nobody accepted).
	ListenerClosed Cause = "listener-closed"
	// MemoryPressure: too many orphans or tcp_mem exhausted
	// (TCP_ABORT_ON_MEMORY).
	MemoryPressure Cause = "memory-pressure"
	// PeerTimeout: keepalive probes went unanswered, the peer is gone
	// (TCP_KEEPALIVE_TIMEOUT).
	PeerTimeout Cause = "keepalive-timeout"
	// UnexpectedSegment: the peer sent a segment that fits no state of the
	// connection (bad ACK, flags, PAWS, a SYN on an established
	// connection): stale peers, middleboxes, NAT.
	UnexpectedSegment Cause = "unexpected-segment"
	// ActiveAbort: this side aborted a connection, reason unavailable
	// (kernels before 6.10): unread data, linger, memory or a timeout.
	ActiveAbort Cause = "active-abort"
	// ResetReceived: the other side sent the reset; its reason is known
	// only on that host.
	ResetReceived Cause = "reset-received"
	// Other: a reason tcptune has no advice for (NOT_SPECIFIED, MPTCP).
	Other Cause = "other"
)

// Causes lists every cause, in the order reports show them.
var Causes = []Cause{AcceptQueueOverflow, KeepaliveRace, UnreadData, LingerAbort, NoListener, ListenerClosed, MemoryPressure,
	PeerTimeout, UnexpectedSegment, ActiveAbort, ResetReceived, Other}

// Classify names the cause of e.
func Classify(e Event) Cause {
	if e.Direction == Received {
		return ResetReceived
	}
	// A reset sent by a listener is the handshake refused: with
	// tcp_abort_on_overflow=1 the only path that resets from LISTEN
	// with a valid ACK (tcp_check_req, net/ipv4/tcp_minisocks.c).
	if e.HasSocket && e.State == stateListen {
		return AcceptQueueOverflow
	}
	if e.ReasonName == "" {
		return classifyByState(e)
	}
	switch e.ReasonName {
	case "NO_SOCKET":
		return NoListener
	case "TCP_TIMEWAIT_SOCKET", "TCP_ABORT_ON_DATA":
		return KeepaliveRace
	case "TCP_ABORT_ON_CLOSE", "TCP_DISCONNECT_WITH_DATA":
		return UnreadData
	case "TCP_ABORT_ON_LINGER":
		return LingerAbort
	case "TCP_STATE":
		if e.Active && e.Orphan {
			return ListenerClosed // inet_csk_listen_stop -> tcp_disconnect on a never-accepted child
		}
		if e.Active {
			return LingerAbort // tcp_disconnect: SO_LINGER {1,0} close, or shutdown-abort
		}
		return UnexpectedSegment
	case "TCP_ABORT_ON_MEMORY":
		return MemoryPressure
	case "TCP_KEEPALIVE_TIMEOUT":
		return PeerTimeout
	case "TCP_INVALID_ACK_SEQUENCE", "TCP_RFC7323_PAWS", "TCP_TOO_OLD_ACK", "TCP_ACK_UNSENT_DATA",
		"TCP_FLAGS", "TCP_OLD_ACK", "INVALID_SYN":
		return UnexpectedSegment
	}
	return Other
}

// classifyByState is the pre-6.10 path: the tracepoint has no reason, so
// the socket's state is the only evidence.
func classifyByState(e Event) Cause {
	switch {
	case !e.HasSocket:
		return NoListener
	case e.State == stateTimeWait:
		return KeepaliveRace
	case e.Active:
		return ActiveAbort
	}
	return Other
}

// processContext reports whether e was sent from a system call of the
// process that owns the socket (close, shutdown), so the current task is
// that process. Resets answering a segment run in softirq context, where
// the current task is whoever happened to run (on loopback, the sender).
func processContext(e Event) bool {
	if e.Direction != Sent || !e.Active {
		return false
	}
	switch e.ReasonName {
	case "TCP_ABORT_ON_CLOSE", "TCP_DISCONNECT_WITH_DATA", "TCP_ABORT_ON_LINGER", "TCP_STATE":
		return true
	}
	return false
}
