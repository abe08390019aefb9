package doctor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sort"

	"golang.org/x/sys/unix"
)

// Listener is one TCP socket in LISTEN state.
type Listener struct {
	Family  string `json:"family"` // "ipv4" or "ipv6"
	Address string `json:"address"`
	Port    uint16 `json:"port"`
	// Queue is the current accept queue: connections that completed the
	// handshake and wait for accept() (sk_ack_backlog; the Recv-Q of ss -lnt).
	Queue uint32 `json:"queue"`
	// MaxQueue is the listener's limit, min(backlog passed to listen(),
	// net.core.somaxconn at that moment) (sk_max_ack_backlog; ss's Send-Q).
	MaxQueue uint32 `json:"max_queue"`
	Inode    uint32 `json:"inode"`
	// PID and Process name the owner when it could be found (0 / "" when the
	// socket belongs to a process in another PID namespace, or we lack the
	// right to read its fds).
	PID     int    `json:"pid,omitempty"`
	Process string `json:"process,omitempty"`
	// Drops is the socket's drop counter (sk_drops, SK_MEMINFO_DROPS; the
	// "d" of ss -ltnm): for a listener, every connection it refused with a
	// full queue (tcp_listendrop). Absent when the kernel did not report it.
	Drops *uint32 `json:"drops,omitempty"`
}

// Endpoint returns "address:port" ("[::]:80" for IPv6).
func (l Listener) Endpoint() string {
	a, err := netip.ParseAddr(l.Address)
	if err != nil {
		return fmt.Sprintf("%s:%d", l.Address, l.Port)
	}
	return netip.AddrPortFrom(a, l.Port).String()
}

// Linux ABI constants (include/uapi/linux/inet_diag.h, include/net/tcp_states.h).
const (
	tcpListen          = 10
	sizeofInetDiagReq  = 56 // struct inet_diag_req_v2
	sizeofInetDiagMsg  = 72 // struct inet_diag_msg
	inetDiagSkmeminfo  = 7  // INET_DIAG_SKMEMINFO (include/uapi/linux/inet_diag.h): u32[SK_MEMINFO_VARS]
	skMeminfoDrops     = 8  // SK_MEMINFO_DROPS (include/uapi/linux/sock_diag.h)
	maxDumpInterrupted = 3
)

// readListeners dumps the LISTEN sockets of the calling thread's network
// namespace. The request's state mask asks the kernel for LISTEN only, so the
// cost does not grow with the number of established connections. One
// compatibility request (TCPDIAG_GETSOCK, as LiveConnecting) answers for
// IPv4 and IPv6 in one walk of the listening hash, whose cost is its size
// (up to 64k buckets), not the listeners in it: every diff and apply makes
// this dump. A kernel that refuses that request gets one per family.
func readListeners() ([]Listener, error) {
	out, err := listenerDump(unix.AF_UNSPEC)
	switch {
	case err == nil:
		sortListeners(out)
		return out, nil
	case errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL):
		return readListenersByFamily()
	default:
		return nil, listenerErr("listeners", err)
	}
}

// listenerErr says what a failed listener dump means. ENOENT (no inet_diag
// for IPv4: a kernel without CONFIG_INET_DIAG or tcp_diag) and EAFNOSUPPORT
// (socket(AF_NETLINK) refused by a sandbox: systemd's
// RestrictAddressFamilies=, seccomp) are "could not tell", never "no
// listeners".
func listenerErr(what string, err error) error {
	switch {
	case errors.Is(err, unix.ENOENT):
		return fmt.Errorf("inet_diag dump of %s: this kernel has no TCP socket diagnostics (CONFIG_INET_DIAG, the tcp_diag module): %w", what, err)
	case errors.Is(err, unix.EAFNOSUPPORT):
		return fmt.Errorf("inet_diag dump of %s: netlink sockets are not allowed here (RestrictAddressFamilies= lacks AF_NETLINK?): %w", what, err)
	}
	return fmt.Errorf("inet_diag dump of %s: %w", what, err)
}

// readListenersByFamily is readListeners with one SOCK_DIAG_BY_FAMILY
// request per family.
func readListenersByFamily() ([]Listener, error) {
	var out []Listener
	for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
		ls, err := listenerDump(fam)
		if errors.Is(err, unix.ENOENT) && fam == unix.AF_INET6 {
			continue // no IPv6 in this kernel: sock_diag has no handler for it, and there is no IPv6 listener
		}
		if err != nil {
			return nil, listenerErr(familyName(fam)+" listeners", err)
		}
		out = append(out, ls...)
	}
	sortListeners(out)
	return out, nil
}

func sortListeners(out []Listener) {
	sort.Slice(out, func(i, j int) bool {
		if out[i].Port != out[j].Port {
			return out[i].Port < out[j].Port
		}
		return out[i].Endpoint() < out[j].Endpoint()
	})
}

// listenerDump is dumpListeners; a test stands in a kernel's answers.
var listenerDump = dumpListeners

// dumpListeners dumps the listeners of family, AF_UNSPEC for both through
// the compatibility request.
func dumpListeners(family uint8) ([]Listener, error) {
	typ, req := uint16(sockDiagByFamily), inetDiagListenRequest(family)
	if family == unix.AF_UNSPEC {
		typ, req = tcpdiagGetsock, inetDiagListenRequestV1()
	}
	for attempt := 0; ; attempt++ {
		var ls []Listener
		var perr error
		err := diagDump(typ, req, func(msg []byte) error {
			l, err := parseInetDiagMsg(msg)
			if err != nil {
				perr = err
				return err
			}
			if l.state == tcpListen { // the kernel filtered; check anyway
				ls = append(ls, l.Listener)
			}
			return nil
		})
		if perr != nil {
			return nil, perr
		}
		// A dump interrupted by a concurrent change of the socket tables is
		// inconsistent: take it again, a few times.
		if errors.Is(err, errDumpInterrupted) && attempt < maxDumpInterrupted {
			continue
		}
		if err != nil {
			return nil, err
		}
		return ls, perr
	}
}

// inetDiagListenRequest builds a struct inet_diag_req_v2 for TCP sockets of
// family in state LISTEN, wildcard socket id, with the socket memory info
// extension (for the drop counter).
func inetDiagListenRequest(family uint8) []byte {
	b := make([]byte, sizeofInetDiagReq)
	b[0] = family
	b[1] = unix.IPPROTO_TCP
	b[2] = 1 << (inetDiagSkmeminfo - 1) // idiag_ext; the queue lengths are in the base message
	binary.NativeEndian.PutUint32(b[4:8], 1<<tcpListen)
	return b
}

// inetDiagListenRequestV1 is inetDiagListenRequest as the struct
// inet_diag_req of TCPDIAG_GETSOCK: ext at byte 3, states after the 48-byte
// socket id.
func inetDiagListenRequestV1() []byte {
	b := make([]byte, sizeofInetDiagReqV1)
	b[3] = 1 << (inetDiagSkmeminfo - 1)
	binary.NativeEndian.PutUint32(b[52:56], 1<<tcpListen)
	return b
}

type diagListener struct {
	Listener
	state uint8
}

// parseInetDiagMsg decodes a struct inet_diag_msg. For LISTEN sockets the
// kernel puts the accept queue in idiag_rqueue and its limit in idiag_wqueue
// (net/ipv4/tcp_diag.c, tcp_diag_get_info).
func parseInetDiagMsg(b []byte) (diagListener, error) {
	if len(b) < sizeofInetDiagMsg {
		return diagListener{}, fmt.Errorf("short inet_diag_msg: %d bytes, want %d", len(b), sizeofInetDiagMsg)
	}
	var l diagListener
	fam := b[0]
	l.state = b[1]
	l.Port = binary.BigEndian.Uint16(b[4:6])
	switch fam {
	case unix.AF_INET:
		l.Address = netip.AddrFrom4([4]byte(b[8:12])).String()
	case unix.AF_INET6:
		a := netip.AddrFrom16([16]byte(b[8:24]))
		l.Address = a.String()
	default:
		return diagListener{}, fmt.Errorf("inet_diag_msg: unknown family %d", fam)
	}
	l.Family = familyName(fam)
	n := binary.NativeEndian
	l.Queue = n.Uint32(b[56:60])
	l.MaxQueue = n.Uint32(b[60:64])
	l.Inode = n.Uint32(b[68:72])
	l.Drops = skmeminfoDrops(b[sizeofInetDiagMsg:])
	return l, nil
}

// skmeminfoDrops finds INET_DIAG_SKMEMINFO among the attributes after the
// message and returns its SK_MEMINFO_DROPS, nil when absent.
func skmeminfoDrops(attrs []byte) *uint32 {
	n := binary.NativeEndian
	for len(attrs) >= 4 {
		alen, typ := int(n.Uint16(attrs[0:2])), n.Uint16(attrs[2:4])
		if alen < 4 || alen > len(attrs) {
			return nil
		}
		if typ == inetDiagSkmeminfo && alen >= 4+4*(skMeminfoDrops+1) {
			v := n.Uint32(attrs[4+4*skMeminfoDrops:])
			return &v
		}
		alen = (alen + 3) &^ 3
		if alen > len(attrs) {
			return nil
		}
		attrs = attrs[alen:]
	}
	return nil
}

func familyName(f uint8) string {
	if f == unix.AF_INET6 {
		return "ipv6"
	}
	return "ipv4"
}
