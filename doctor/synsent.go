package doctor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sort"

	"golang.org/x/sys/unix"

	"github.com/tcptune/tcptune/sysctl"
)

// Connecting is a TCP socket in SYN-SENT: a connect() still waiting for the
// peer's SYN-ACK.
type Connecting struct {
	Local  string `json:"local"`
	Remote string `json:"remote"`
	// Retrans is how many times the SYN was retransmitted so far
	// (idiag_retrans).
	Retrans uint8 `json:"retrans"`
}

const tcpSynSent = 2

var keySynRetries = sysctl.Known("net.ipv4.tcp_syn_retries", "net/ipv4/tcp_syn_retries") // named in the fix only

// Linux ABI (include/uapi/linux/inet_diag.h): TCPDIAG_GETSOCK with a struct
// inet_diag_req is the request inet_diag kept for compatibility; the kernel
// answers it with sdiag_family AF_UNSPEC (net/ipv4/inet_diag.c,
// inet_diag_dump_compat), that is both families in one walk of the table.
const (
	tcpdiagGetsock      = 18
	sizeofInetDiagReqV1 = 60 // family, src_len, dst_len, ext, id (48), states, dbs
)

// LiveConnecting dumps the SYN-SENT sockets of the calling thread's network
// namespace through inet_diag. The state filter keeps the answer to those
// sockets, not the cost: the kernel walks the whole established hash to apply
// it (see synsent_gate.go for when the walk is skipped). One request covers
// IPv4 and IPv6, so the table is walked once, not once per family; a kernel
// that refuses it gets one SOCK_DIAG_BY_FAMILY request per family.
func LiveConnecting() ([]Connecting, error) {
	b := make([]byte, sizeofInetDiagReqV1)
	binary.NativeEndian.PutUint32(b[52:56], 1<<tcpSynSent)
	out, err := dumpConnecting(tcpdiagGetsock, b)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL) {
		out, err = nil, nil
		for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
			b := make([]byte, sizeofInetDiagReq)
			b[0], b[1] = fam, unix.IPPROTO_TCP
			binary.NativeEndian.PutUint32(b[4:8], 1<<tcpSynSent)
			cs, ferr := dumpConnecting(sockDiagByFamily, b)
			if errors.Is(ferr, unix.ENOENT) {
				continue // no inet_diag handler for this family
			}
			if ferr != nil {
				err = ferr
				break
			}
			out = append(out, cs...)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("inet_diag dump of SYN-SENT sockets: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Remote < out[j].Remote })
	return out, nil
}

// dumpConnecting sends one inet_diag dump request of type typ and decodes
// every answer as a SYN-SENT socket.
func dumpConnecting(typ uint16, body []byte) ([]Connecting, error) {
	var out []Connecting
	var perr error
	err := diagDump(typ, body, func(msg []byte) error {
		c, err := parseConnecting(msg)
		if err != nil {
			perr = err
			return err
		}
		out = append(out, c)
		return nil
	})
	if perr != nil {
		return nil, perr
	}
	if err != nil {
		return nil, err
	}
	return out, perr
}

// parseConnecting decodes a struct inet_diag_msg of a SYN-SENT socket.
func parseConnecting(b []byte) (Connecting, error) {
	if len(b) < sizeofInetDiagMsg {
		return Connecting{}, fmt.Errorf("short inet_diag_msg: %d bytes", len(b))
	}
	sport, dport := binary.BigEndian.Uint16(b[4:6]), binary.BigEndian.Uint16(b[6:8])
	var src, dst netip.Addr
	switch b[0] {
	case unix.AF_INET:
		src, dst = netip.AddrFrom4([4]byte(b[8:12])), netip.AddrFrom4([4]byte(b[24:28]))
	case unix.AF_INET6:
		src, dst = netip.AddrFrom16([16]byte(b[8:24])).Unmap(), netip.AddrFrom16([16]byte(b[24:40])).Unmap()
	default:
		return Connecting{}, fmt.Errorf("inet_diag_msg: unknown family %d", b[0])
	}
	return Connecting{Local: netip.AddrPortFrom(src, sport).String(), Remote: netip.AddrPortFrom(dst, dport).String(), Retrans: b[3]}, nil
}

// deadBackendRule: connects that stay in SYN-SENT with retransmitted SYNs
// go to a peer that does not answer (down, firewalled, gone). How long each
// waits is tcp_syn_retries (and tcp_syn_linear_timeouts) for a program
// that connects itself; behind a proxy, the proxy's own connect timeout
// (nginx proxy_connect_timeout) is what its clients wait, whatever the
// sysctl says.
func deadBackendRule(w *Window, _ []ListenerReport) []Finding {
	if !w.After.ConnectingRead {
		return nil
	}
	seen := map[string]bool{}
	if w.Before != nil {
		for _, c := range w.Before.Connecting {
			seen[c.Remote] = true
		}
	}
	type dest struct {
		n       int
		retrans uint8
	}
	byDest := map[string]*dest{}
	var order []string
	for _, c := range w.After.Connecting {
		if c.Retrans == 0 || (w.Before != nil && !seen[c.Remote]) {
			continue // a connect in its first second, or new since the first reading
		}
		d, ok := byDest[c.Remote]
		if !ok {
			d = &dest{}
			byDest[c.Remote] = d
			order = append(order, c.Remote)
		}
		d.n++
		d.retrans = max(d.retrans, c.Retrans)
	}
	if len(order) == 0 {
		return nil
	}
	f := Finding{ID: "dead-backend", Severity: Warning}
	for _, r := range order {
		f.Evidence = append(f.Evidence, valueEvidence("connecting to "+r,
			fmt.Sprintf("%d socket(s) in SYN-SENT, SYN sent %d time(s)", byDest[r].n, int(byDest[r].retrans)+1)))
	}
	if e, _, ok := counterEvidence(w, "TcpExt", tcpExtOf, "TCPSynRetrans"); ok {
		f.Evidence = append(f.Evidence, e)
	}
	f.Summary = fmt.Sprintf("connects to %s get no answer: SYNs retransmitted", joinMax(order, 3))
	f.Explanation = "These connects are waiting for a SYN-ACK that does not come: the peer is down, unreachable or " +
		"dropping SYNs. A program that connects itself waits tcp_syn_retries retransmissions (about 2 minutes with the " +
		"default 6; fail-fast makes it seconds). Behind a proxy the proxy decides: nginx gives up after its " +
		"proxy_connect_timeout (default 60s) whatever tcp_syn_retries says, and that is what its clients wait."
	f.Fix = profileFix("fail-fast", keySynRetries)
	return []Finding{f}
}

func joinMax(s []string, n int) string {
	if len(s) <= n {
		return fmt.Sprint(s)
	}
	return fmt.Sprintf("%v and %d more", s[:n], len(s)-n)
}
