package lab

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// keepaliveBackend is an HTTP/1.1 upstream that keeps connections open
// between requests and closes one that idles for idle, as application
// servers do (Go's http.Server IdleTimeout, gunicorn's keepalive, Node's
// keepAliveTimeout: 5 s). It is minimal on purpose (no net/http in the
// tcptune binary): request line and headers, a Content-Length body, an
// answer with Content-Length.
type keepaliveBackend struct {
	ln   *net.TCPListener
	idle time.Duration
	wg   sync.WaitGroup
}

func startKeepaliveBackend(port int, idle time.Duration) (*keepaliveBackend, error) {
	ln, err := listenTCP(port, serverBacklog)
	if err != nil {
		return nil, err
	}
	b := &keepaliveBackend{ln: ln, idle: idle}
	serveEach(ln, &b.wg, b.serve)
	return b, nil
}

func (b *keepaliveBackend) close() {
	b.ln.Close()
	b.wg.Wait()
}

func (b *keepaliveBackend) serve(c net.Conn) {
	defer c.Close() // after idling: a FIN, nothing unread
	r := bufio.NewReader(c)
	end := time.Now().Add(2 * time.Minute) // bounded
	for time.Now().Before(end) {
		_ = c.SetReadDeadline(time.Now().Add(b.idle))
		length := 0
		for first := true; ; first = false {
			line, err := r.ReadString('\n')
			if err != nil {
				return // idle timeout, EOF or reset
			}
			if first {
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			}
			if line == "\r\n" || line == "\n" {
				break
			}
			if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "content-length") {
				length, _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
		if length > 0 {
			if _, err := r.Discard(length); err != nil {
				return
			}
		}
		if _, err := c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nok\n")); err != nil {
			return
		}
	}
}
