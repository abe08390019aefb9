package resettrace

// Fix says what addresses a cause.
type Fix struct {
	// Summary is the rule, in one line.
	Summary string `json:"summary"`
	// Profile is the built-in profile that helps ("" when none does).
	Profile string `json:"profile,omitempty"`
	// Keys are the sysctls involved.
	Keys []string `json:"keys,omitempty"`
	// Action is what to change outside the kernel (application, proxy).
	Action string `json:"action,omitempty"`
}

// advice is the explanation and fix of each cause.
var advice = map[Cause]struct {
	explain string
	fix     Fix
}{
	AcceptQueueOverflow: {
		"the listener's accept queue was full when a handshake completed and tcp_abort_on_overflow=1 answered it with a reset: clients read 'connection reset by peer' at their first read or write",
		Fix{Summary: "make the accept queue longer and stop resetting on overflow", Profile: "high-concurrency",
			Keys:   []string{"net.core.somaxconn", "net.ipv4.tcp_max_syn_backlog", "net.ipv4.tcp_abort_on_overflow"},
			Action: "the queue is min(listen backlog, somaxconn): raise the listener's own backlog too (nginx 'listen ... backlog=N', listen(fd, N)) and restart it; Go reads somaxconn once at start"},
	},
	KeepaliveRace: {
		"the peer sent on a connection this side had already closed after it idled (the closed socket answered from TIME-WAIT/FIN-WAIT-2): the client's pooled connection outlived the server's keepalive timeout and its next request raced the close",
		Fix{Summary: "the client's idle timeout must be shorter than the server's keepalive timeout",
			Action: "lower the client's idle timeout (Go http.Transport.IdleConnTimeout, nginx upstream keepalive_timeout) below the server's keepalive_timeout (nginx default 75s), or raise the server's; retry idempotent requests on a reset"},
	},
	UnreadData: {
		"the application closed a connection while request data it had not read was still in the socket: the kernel must reset instead of closing (RFC 1122 4.2.2.13)",
		Fix{Summary: "read (or drain) the request before closing",
			Action: "fix the server's early close: answer errors after reading the body, or shut down writing and drain before close (nginx: lingering_close)"},
	},
	LingerAbort: {
		"the application closed abortively: SO_LINGER with a zero timeout (or a negative TCP_LINGER2) turns close() into a reset",
		Fix{Summary: "close gracefully unless the abort is wanted", Action: "remove SO_LINGER {on, 0} / TCP_LINGER2 < 0 from the application (often set to avoid TIME-WAIT; net.ipv4.tcp_tw_reuse addresses that instead)"},
	},
	NoListener: {
		"a segment arrived for a port nobody listens on: the service is down, restarting, or the client has the wrong port",
		Fix{Summary: "start the service, or keep a listener open across restarts", Action: "check the service on the local endpoint (systemd socket activation or SO_REUSEPORT hand-over keeps the port open during restarts); fix clients that use a closed port"},
	},
	ListenerClosed: {
		"a listening socket was closed while connections waited in its accept queue (a service stopping or restarting): the kernel reset every one of them",
		Fix{Summary: "drain the queue before closing the listener", Action: "on shutdown stop listening only after accepting and serving what is queued (graceful shutdown), or hand the socket over (systemd socket activation, SO_REUSEPORT, nginx's binary upgrade)"},
	},
	MemoryPressure: {
		"the kernel aborted a connection because TCP memory (tcp_mem) or the orphan limit (tcp_max_orphans) was exhausted",
		Fix{Summary: "give TCP more memory or fewer orphans", Keys: []string{"net.ipv4.tcp_mem", "net.ipv4.tcp_max_orphans"},
			Action: "host-wide keys: set them on the host; find what holds unread or unsent data (ss -tm)"},
	},
	PeerTimeout: {
		"keepalive probes went unanswered: the peer is gone (crashed host, dropped NAT or firewall state) and the connection was aborted",
		Fix{Summary: "a dead peer: look at the path to the remote endpoint", Keys: []string{"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"},
			Action: "check the remote host and any NAT/firewall idle timeout between; keepalive shorter than that idle timeout keeps the state alive"},
	},
	UnexpectedSegment: {
		"the peer sent a segment that fits no state of the connection (an ACK for unsent data, bad flags, an old timestamp, a SYN on an open connection): a stale peer, a middlebox or NAT reusing a port",
		Fix{Summary: "look at the path and the peer", Action: "capture the flow (tcpdump -nn host REMOTE) and check NAT and load balancers between the two hosts"},
	},
	ActiveAbort: {
		"this side aborted a connection; this kernel (before 6.10) does not say why: unread data at close, SO_LINGER 0, memory pressure or a timeout",
		Fix{Summary: "reason unavailable on this kernel", Action: "upgrade to Linux 6.10+ for the kernel's reason, or check the application's close path"},
	},
	ResetReceived: {
		"the remote endpoint sent this reset; why is known only to its kernel",
		Fix{Summary: "examine the remote host", Action: "run 'tcptune doctor --trace' on the host (or in the namespace) that owns the remote endpoint"},
	},
	Other: {
		"a reset whose kernel reason tcptune has no advice for",
		Fix{Summary: "see the kernel reason", Action: "the reason is the kernel's (include/net/rstreason.h)"},
	},
}

// Explain returns the explanation of c.
func Explain(c Cause) string { return advice[c].explain }

// FixFor returns the fix of c.
func FixFor(c Cause) Fix { return advice[c].fix }
