package cli

import (
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tcptune/tcptune/doctor"
	"github.com/tcptune/tcptune/internal/nstest"
)

// TestDoctorKernelListenerDrops: a burst overflows a listener between the
// two readings and the server then drains its queue, so neither reading
// sees it full. The listener's own drop counter (SK_MEMINFO_DROPS) still
// names it in the accept-queue-overflow finding.
func TestDoctorKernelListenerDrops(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 1); err != nil {
		t.Fatal(err)
	}
	sa, _ := unix.Getsockname(fd)
	port := sa.(*unix.SockaddrInet4).Port
	type result struct {
		r    doctor.Report
		code int
	}
	done := make(chan result, 1)
	go func() {
		r, code := runDoctorJSON(t, "--interval", "3s")
		done <- result{r, code}
	}()
	time.Sleep(500 * time.Millisecond) // after the first reading
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 10 {
		if c, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", port), 100*time.Millisecond); err == nil {
			conns = append(conns, c)
		}
	}
	time.Sleep(300 * time.Millisecond) // the queue stays full for a while
	// The server catches up: the queue is empty at the second reading.
	if err := unix.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	for {
		nfd, _, err := unix.Accept(fd)
		if err != nil {
			break
		}
		unix.Close(nfd)
	}
	res := <-done
	var l *doctor.ListenerReport
	for i := range res.r.Listeners {
		if int(res.r.Listeners[i].Port) == port {
			l = &res.r.Listeners[i]
		}
	}
	if l == nil || l.DropsDelta == nil || *l.DropsDelta == 0 || l.Queue != 0 {
		t.Fatalf("listener %+v: want an empty queue and drops in the window", l)
	}
	// Read between the two readings, the queue was seen full.
	if l.PeakQueue < 1 || l.Status != doctor.StatusFull {
		t.Errorf("listener %+v: the queue sampled between the readings should have been full", l)
	}
	f := findingByID(res.r, "accept-queue-overflow")
	if f == nil || !slices.Contains(f.Listeners, fmt.Sprintf("127.0.0.1:%d", port)) {
		t.Errorf("accept-queue-overflow does not name the listener: %+v (exit %d)", f, res.code)
	}
}
