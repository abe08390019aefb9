package lab

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// labPort is where every lab server listens: 8001 as in the seed's
// reproduction. The namespace is private, so a fixed port cannot collide
// with anything on the host.
const labPort = 8001

// serverBacklog is the backlog the lab's listeners ask for, like nginx's
// `listen ... backlog=65535`; the kernel caps it at net.core.somaxconn when
// listen() runs, which is the whole point of burst-resets.
const serverBacklog = 65535

// listenTCP listens on 127.0.0.1:port with an explicit backlog. Go's
// net.Listen would pass its own cached reading of somaxconn, read once per
// process, so a listener opened after the apply would still get the old
// limit; a raw listen(2) asks for exactly backlog.
func listenTCP(port, backlog int) (*net.TCPListener, error) {
	return listenTCPOn([4]byte{127, 0, 0, 1}, port, backlog)
}

// listenTCPOn is listenTCP on another address of the namespace.
func listenTCPOn(ip [4]byte, port, backlog int) (*net.TCPListener, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	f := os.NewFile(uintptr(fd), "listener")
	defer f.Close() // FileListener dups the descriptor
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		return nil, fmt.Errorf("setsockopt SO_REUSEADDR: %w", err)
	}
	where := net.JoinHostPort(net.IP(ip[:]).String(), fmt.Sprint(port))
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: port, Addr: ip}); err != nil {
		return nil, fmt.Errorf("bind %s: %w", where, err)
	}
	if err := syscall.Listen(fd, backlog); err != nil {
		return nil, fmt.Errorf("listen %s: %w", where, err)
	}
	l, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("listener from fd: %w", err)
	}
	return l.(*net.TCPListener), nil
}

// lineServer accepts at most rate connections per second (0: as fast as it
// can), answers each line with "ok\n", and closes after the client does, so
// the client side holds TIME-WAIT as a real client would.
type lineServer struct {
	ln   *net.TCPListener
	rate int
	wg   sync.WaitGroup
	stop chan struct{}
}

func startLineServer(backlog, rate int) (*lineServer, error) {
	return startLineServerOn([4]byte{127, 0, 0, 1}, backlog, rate)
}

func startLineServerOn(ip [4]byte, backlog, rate int) (*lineServer, error) {
	ln, err := listenTCPOn(ip, labPort, backlog)
	if err != nil {
		return nil, err
	}
	s := &lineServer{ln: ln, rate: rate, stop: make(chan struct{})}
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

func (s *lineServer) addr() string { return s.ln.Addr().String() }

func (s *lineServer) acceptLoop() {
	defer s.wg.Done()
	start := time.Now()
	for i := 0; ; i++ {
		if s.rate > 0 {
			// Pace against the start time, so a slow accept does not add
			// up: connection i is accepted no earlier than i/rate seconds.
			next := start.Add(time.Duration(i) * time.Second / time.Duration(s.rate))
			select {
			case <-s.stop:
				return
			case <-time.After(time.Until(next)):
			}
		}
		c, err := s.ln.Accept()
		if err != nil {
			return // closed
		}
		s.wg.Add(1)
		go s.serve(c)
	}
}

func (s *lineServer) serve(c net.Conn) {
	defer s.wg.Done()
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil {
		return
	}
	if _, err := c.Write([]byte("ok\n")); err != nil {
		return
	}
	// Wait for the client's FIN (bounded by the deadline above).
	var b [1]byte
	_, _ = r.Read(b[:])
}

// close stops accepting, closes the listener (and with it every connection
// still in its accept queue) and waits for open connections to end.
func (s *lineServer) close() {
	close(s.stop)
	s.ln.Close()
	s.wg.Wait()
}

// lineClient dials addr, sends a line and reads one reply line, all within
// timeout. It is the seed's client: connect, write, read.
//
// rtt > 0 gives the handshake a network's round trip, which loopback lacks:
// on loopback the final ACK reaches the listener microseconds after its
// SYN, so a full accept queue almost always drops the SYN (and the client
// retries) instead of refusing the ACK, and the resets a real network shows
// under a burst do not appear. With TCP_DEFER_ACCEPT on the connecting
// socket the kernel holds back the handshake's last ACK and sends it with
// the first data (tcp_rcv_synsent_state_process, net/ipv4/tcp_input.c), so
// writing rtt after connect() returns makes the ACK arrive rtt after the
// SYN-ACK, as across a network.
func lineClient(ctx context.Context, addr string, timeout, rtt time.Duration, pendingOnDeadline bool) attempt {
	return exchange(ctx, addr, timeout, rtt, pendingOnDeadline, "hello\n", func(r *bufio.Reader) error {
		line, err := r.ReadString('\n')
		if err == nil && line != "ok\n" {
			err = fmt.Errorf("unexpected reply %q", line)
		}
		return err
	})
}

// exchange dials addr, writes req and lets check read the reply.
func exchange(ctx context.Context, addr string, timeout, rtt time.Duration, pendingOnDeadline bool,
	req string, check func(*bufio.Reader) error) attempt {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	if rtt > 0 {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_DEFER_ACCEPT, 1)
			})
			if err != nil {
				return err
			}
			return serr
		}
	}
	c, err := d.DialContext(ctx, "tcp4", addr)
	if err != nil {
		return attempt{class: classify(err, pendingOnDeadline), elapsed: time.Since(start), err: err}
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if rtt > 0 {
		time.Sleep(rtt)
	}
	if _, err = c.Write([]byte(req)); err == nil {
		err = check(bufio.NewReader(c))
	}
	return attempt{class: classify(err, false), elapsed: time.Since(start), err: err}
}
