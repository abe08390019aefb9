package doctor

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// sockDiagByFamily is SOCK_DIAG_BY_FAMILY (include/uapi/linux/sock_diag.h),
// the request type of struct inet_diag_req_v2.
const sockDiagByFamily = 20

// errDumpInterrupted: the kernel flagged the dump NLM_F_DUMP_INTR, the
// socket tables changed while it ran, so the answer may miss or repeat a
// socket; a caller that needs a consistent list asks again.
var errDumpInterrupted = errors.New("inet_diag dump interrupted by a concurrent change; results may be incomplete")

// diagRecvSize is the receive buffer of a dump. netlink_dump sizes each
// batch by the largest buffer a recvmsg offered (max_recvmsg_len, at most
// 32 KiB) and never below NLMSG_GOODSIZE (under 8 KiB on any page size), so
// 8 KiB is never truncated. It is not 32 KiB because every diff and apply
// dumps the listeners: a fresh 32 KiB buffer is eight page faults and its
// clearing, for answers that are a few hundred bytes on most machines;
// large dumps only take more recvmsg calls.
const diagRecvSize = 8 << 10

// diagDump sends one NETLINK_INET_DIAG dump request, netlink message type
// typ with body (a struct inet_diag_req or inet_diag_req_v2), and calls fn
// with the payload of every answer of that type, in order. An error answer
// is returned as its errno (ENOENT: no inet_diag handler for the family). It
// returns errDumpInterrupted after a complete but flagged dump.
//
// Its own few lines over x/sys/unix, not a netlink library: doctor's
// listener list is on every diff and apply (port-range warnings, restart
// list), and a library's per-request set-up and 64 KiB buffers were a tenth
// of a diff's instructions (make bench).
func diagDump(typ uint16, body []byte, fn func(msg []byte) error) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_INET_DIAG)
	if err != nil {
		return fmt.Errorf("netlink socket: %w", err)
	}
	defer unix.Close(fd)
	const seq = 1
	req := make([]byte, unix.NLMSG_HDRLEN+len(body))
	binary.NativeEndian.PutUint32(req[0:4], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:6], typ)
	binary.NativeEndian.PutUint16(req[6:8], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(req[8:12], seq)
	copy(req[unix.NLMSG_HDRLEN:], body)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink send: %w", err)
	}
	buf := make([]byte, diagRecvSize)
	intr := false
	for {
		n, _, flags, _, err := unix.Recvmsg(fd, buf, nil, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("netlink receive: %w", err)
		}
		if flags&unix.MSG_TRUNC != 0 {
			return fmt.Errorf("netlink receive: message truncated at %d bytes", n)
		}
		for b := buf[:n]; len(b) >= unix.NLMSG_HDRLEN; {
			l := int(binary.NativeEndian.Uint32(b[0:4]))
			if l < unix.NLMSG_HDRLEN || l > len(b) {
				return fmt.Errorf("netlink receive: bad message length %d", l)
			}
			mtype := binary.NativeEndian.Uint16(b[4:6])
			mflags := binary.NativeEndian.Uint16(b[6:8])
			mseq := binary.NativeEndian.Uint32(b[8:12])
			payload := b[unix.NLMSG_HDRLEN:l]
			if a := (l + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1); a < len(b) {
				b = b[a:]
			} else {
				b = nil
			}
			if mseq != seq {
				continue // not an answer to this request
			}
			if mflags&unix.NLM_F_DUMP_INTR != 0 {
				intr = true
			}
			switch mtype {
			case unix.NLMSG_DONE, unix.NLMSG_ERROR:
				if len(payload) >= 4 {
					if errno := int32(binary.NativeEndian.Uint32(payload[0:4])); errno < 0 {
						return unix.Errno(-errno)
					}
				}
				if mtype == unix.NLMSG_ERROR {
					continue // an acknowledgement
				}
				if intr {
					return errDumpInterrupted
				}
				return nil
			case typ:
				if err := fn(payload); err != nil {
					return err
				}
			}
		}
	}
}
