package systemd

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestNotifierSendsToNotifySocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify.sock")
	sock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	t.Setenv("NOTIFY_SOCKET", path)
	t.Setenv("WATCHDOG_USEC", "4000000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))

	n := NewNotifier()
	if got := n.WatchdogInterval(); got != 2*time.Second {
		t.Errorf("WatchdogInterval = %v, want 2s (half of WATCHDOG_USEC)", got)
	}
	steps := []struct {
		send func() error
		want string
	}{
		{func() error { return n.Ready("in sync") }, "READY=1\nSTATUS=in sync"},
		{func() error { return n.Status("1 key drifted\nREADY=1") }, "STATUS=1 key drifted READY=1"},
		{n.Watchdog, "WATCHDOG=1"},
		{func() error { return n.Stopping("bye") }, "STOPPING=1\nSTATUS=bye"},
	}
	buf := make([]byte, 4096)
	for _, s := range steps {
		if err := s.send(); err != nil {
			t.Fatal(err)
		}
		sock.SetReadDeadline(time.Now().Add(5 * time.Second))
		k, err := sock.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(buf[:k]); got != s.want {
			t.Errorf("datagram %q, want %q", got, s.want)
		}
	}
}

func TestNotifierWithoutSystemd(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "")
	n := NewNotifier()
	if err := n.Ready("x"); err != nil {
		t.Errorf("Ready without NOTIFY_SOCKET: %v", err)
	}
	if n.WatchdogInterval() != 0 {
		t.Error("watchdog enabled without WATCHDOG_USEC")
	}
	var zero *Notifier
	if err := zero.Stopping("x"); err != nil || zero.WatchdogInterval() != 0 {
		t.Error("nil Notifier is not a no-op")
	}
	// Another process's watchdog is not ours (sd_watchdog_enabled(3)).
	t.Setenv("WATCHDOG_USEC", "4000000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()+1))
	if NewNotifier().WatchdogInterval() != 0 {
		t.Error("watchdog enabled for another PID")
	}
}
