package lab

import (
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// delayRelay stands for the network between a client and a server:
// loopback delivers a FIN in microseconds, so the client's pool notices a
// keepalive close before it can reuse the connection, and the race that a
// real round trip opens never happens. The relay forwards client -> server
// at once and server -> client (data, FIN, and a reset as a reset) after
// delay, like a path whose return direction takes that long. No qdisc is
// needed (this kernel has no netem). Resets the relay itself sends toward
// the client are the network's, not a cause: the lab's trace leaves out
// resets sent from the relay's port.
type delayRelay struct {
	ln     *net.TCPListener
	target string
	delay  time.Duration
	wg     sync.WaitGroup
}

func startDelayRelay(port int, target string, delay time.Duration) (*delayRelay, error) {
	ln, err := listenTCP(port, serverBacklog)
	if err != nil {
		return nil, err
	}
	r := &delayRelay{ln: ln, target: target, delay: delay}
	serveEach(ln, &r.wg, func(c net.Conn) { r.serve(c.(*net.TCPConn)) })
	return r, nil
}

// serveEach accepts on ln until it is closed and runs fn on each
// connection in its own goroutine, all counted in wg.
func serveEach(ln net.Listener, wg *sync.WaitGroup, fn func(net.Conn)) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				fn(c)
			}()
		}
	}()
}

func (r *delayRelay) close() {
	r.ln.Close()
	r.wg.Wait()
}

// chunk is what the server sent, to be delivered at at.
type chunk struct {
	at    time.Time
	data  []byte
	eof   bool
	reset bool
}

func (r *delayRelay) serve(c *net.TCPConn) {
	defer c.Close()
	sc, err := net.DialTimeout("tcp4", r.target, time.Second)
	if err != nil {
		_ = c.SetLinger(0)
		return
	}
	s := sc.(*net.TCPConn)
	defer s.Close()
	deadline := time.Now().Add(2 * time.Minute) // bounded, whatever the peers do
	_ = c.SetDeadline(deadline)
	_ = s.SetDeadline(deadline)
	done := make(chan struct{})
	go func() { // client -> server, at once
		defer close(done)
		_, err := io.Copy(s, c)
		if err != nil && isReset(err) {
			_ = s.SetLinger(0)
			s.Close()
			return
		}
		_ = s.CloseWrite()
	}()
	q := make(chan chunk, 256)
	go func() { // server -> queue
		defer close(q)
		buf := make([]byte, 32<<10)
		for {
			n, err := s.Read(buf)
			if n > 0 {
				q <- chunk{at: time.Now().Add(r.delay), data: append([]byte(nil), buf[:n]...)}
			}
			if err != nil {
				q <- chunk{at: time.Now().Add(r.delay), eof: err == io.EOF, reset: isReset(err)}
				return
			}
		}
	}()
	for ch := range q { // queue -> client, delayed
		time.Sleep(time.Until(ch.at))
		switch {
		case ch.reset:
			_ = c.SetLinger(0) // the server's reset, delivered as one
			c.Close()
			<-done
			return
		case ch.eof:
			_ = c.CloseWrite()
		case ch.data != nil:
			if _, err := c.Write(ch.data); err != nil {
				_ = s.SetLinger(0)
			}
		}
	}
	<-done
}

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
