package cli

import (
	"net"
	"testing"
	"time"

	"github.com/tcptune/tcptune/internal/nstest"
)

// TestDoctorKernelProbableKeepaliveRace: on a real kernel, a server that
// closes connections its client has just sent on (close with unread data:
// TcpExt.TCPAbortOnClose) shows doctor's counter signature of the
// keep-alive race, with no tracing. The rule was once fed by a netstat
// reader that dropped these counters, so only a live kernel proves it.
func TestDoctorKernelProbableKeepaliveRace(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	nstest.Guard(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() { // the server: takes each connection and closes it unread
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond) // the client's request has arrived
			c.Close()
		}
	}()
	go func() { // the client: a bounded number of requests, spaced over the interval
		defer close(done)
		for i := 0; i < 20; i++ {
			c, err := net.Dial("tcp4", ln.Addr().String())
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			_, _ = c.Read(make([]byte, 16)) // ECONNRESET
			c.Close()
			time.Sleep(50 * time.Millisecond)
		}
	}()
	time.Sleep(100 * time.Millisecond)
	r, code := runDoctorJSON(t, "--interval", "1500ms")
	<-done
	f := findingByID(r, "probable-keepalive-race")
	if f == nil || code != ExitChanges {
		t.Fatalf("exit %d, no probable-keepalive-race finding: %+v", code, r.Findings)
	}
	found := false
	for _, e := range f.Evidence {
		found = found || e.Name == "TcpExt.TCPAbortOnClose" && e.Delta != nil && *e.Delta > 0
	}
	if !found {
		t.Errorf("evidence without a rising TcpExt.TCPAbortOnClose: %+v", f.Evidence)
	}
}
