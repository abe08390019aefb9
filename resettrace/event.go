package resettrace

import (
	"fmt"
	"net/netip"
	"time"
)

// Direction says whether this host sent the reset or received it.
type Direction string

const (
	// Sent: this host's kernel sent the reset; it knows why.
	Sent Direction = "sent"
	// Received: the other side sent it; its reason is known only there.
	Received Direction = "received"
)

// NoReason is Event.Reason when the kernel does not say (before 6.10, and
// for received resets).
const NoReason = -1

// Event is one reset as the tracepoint saw it.
type Event struct {
	Time      time.Time
	Direction Direction
	// Reason is the enum sk_rst_reason value, or NoReason.
	Reason int
	// ReasonName is the kernel's name without the SK_RST_REASON_ prefix
	// ("TCP_TIMEWAIT_SOCKET"), "" when there is no reason.
	ReasonName string
	// State is the socket's TCP state (1 ESTABLISHED ... 12 NEW_SYN_RECV),
	// 0 when the reset was sent without a socket.
	State uint8
	// HasSocket is false when no socket matched the segment.
	HasSocket bool
	// Active: the reset was sent by the socket itself (close, timer),
	// not in answer to a received segment.
	Active bool
	// Orphan: a full socket no file refers to: closed by its owner, or
	// never accepted (still in a listener's queue). Known from BPF only.
	Orphan bool
	Netns  uint32
	Local  netip.AddrPort
	Remote netip.AddrPort
	// PID and Comm are the current task: meaningful only for resets sent
	// from a system call (see processContext).
	PID  uint32
	Comm string
	// SocketCgroup is the cgroup id of the socket's owner (full sockets),
	// CurrentCgroup the current task's.
	SocketCgroup  uint64
	CurrentCgroup uint64
}

// TCP states (include/net/tcp_states.h).
var stateNames = [...]string{
	"", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
	"CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV",
}

const (
	stateListen   = 10
	stateTimeWait = 6
)

// StateName is the kernel's name of a TCP state ("TIME_WAIT"), "" for 0.
func StateName(s uint8) string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state-%d", s)
}
