package systemd

import (
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notifier speaks sd_notify(3) to the service manager named by
// $NOTIFY_SOCKET. Without that variable (not under systemd, or not
// Type=notify) every method is a no-op, so the same code runs anywhere; so
// is every method of the zero Notifier.
type Notifier struct {
	notify   func(state string) (bool, error)
	watchdog time.Duration
}

// NewNotifier reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID. A
// malformed watchdog variable disables the watchdog rather than failing:
// systemd would then kill the service, which is loud enough.
func NewNotifier() *Notifier {
	wd, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		wd = 0
	}
	return &Notifier{
		notify:   func(s string) (bool, error) { return daemon.SdNotify(false, s) },
		watchdog: wd,
	}
}

// WatchdogInterval is how often to send WATCHDOG=1: half the unit's
// WatchdogSec as sd_watchdog_enabled(3) advises, or 0 when the unit does not
// ask for it.
func (n *Notifier) WatchdogInterval() time.Duration {
	if n == nil {
		return 0
	}
	return n.watchdog / 2
}

// Ready tells systemd start-up is done; status is shown by systemctl status.
func (n *Notifier) Ready(status string) error {
	return n.send(daemon.SdNotifyReady, "STATUS="+oneLine(status))
}

// Status updates the one-line status.
func (n *Notifier) Status(status string) error { return n.send("STATUS=" + oneLine(status)) }

// Watchdog pings the watchdog.
func (n *Notifier) Watchdog() error { return n.send(daemon.SdNotifyWatchdog) }

// Stopping tells systemd the service is shutting down on purpose.
func (n *Notifier) Stopping(status string) error {
	return n.send(daemon.SdNotifyStopping, "STATUS="+oneLine(status))
}

func (n *Notifier) send(lines ...string) error {
	if n == nil || n.notify == nil {
		return nil // the zero Notifier: not under a service manager
	}
	_, err := n.notify(strings.Join(lines, "\n"))
	return err
}

// oneLine keeps a status from injecting another assignment.
func oneLine(s string) string { return strings.NewReplacer("\n", " ", "\r", " ").Replace(s) }
