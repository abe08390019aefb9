package boottest

import (
	"strings"
	"testing"
	"time"
)

// TestCrashAtBoot: the packaged apply unit is SIGKILLed after its first
// write; at the next boot tcptune-apply.service refuses to apply over the
// crashed transaction (the unit fails, saying what to do), `status` reports
// it, and the documented recovery (`tcptune rollback`, then starting the
// unit again) works and holds across another boot.
func TestCrashAtBoot(t *testing.T) {
	m := boot(t, "crash")
	install(t, m, deb1)
	defaults := map[string]string{"net.core.somaxconn": live(t, m, "net.core.somaxconn")}
	must(t, m.Run("systemctl", "enable", "tcptune-apply.service"))
	// A runtime drop-in (gone at reboot) turns on apply's test hook: it
	// pauses after write 1 (net.core.somaxconn, first in path order).
	must(t, m.Sh(`set -e
mkdir -p /run/systemd/system/tcptune-apply.service.d
printf '[Service]\nEnvironment=TCPTUNE_TEST_PAUSE_AFTER_WRITE=1\n' > /run/systemd/system/tcptune-apply.service.d/pause.conf
systemctl daemon-reload
systemctl start --no-block tcptune-apply.service`))
	waitFor(t, "apply pauses after its first write", 20*time.Second, func() (bool, string) {
		out := m.Run("journalctl", "-u", "tcptune-apply.service", "-o", "cat", "--no-pager").Stdout
		return strings.Contains(out, "paused after write 1 (net.core.somaxconn)"), out
	})
	must(t, m.Run("systemctl", "kill", "--signal=SIGKILL", "tcptune-apply.service"))
	waitFor(t, "the unit to die", 10*time.Second, func() (bool, string) {
		p := unitProps(t, m, "tcptune-apply.service", "ActiveState", "Result")
		return p["ActiveState"] == "failed" && p["Result"] == "signal", p["ActiveState"] + " " + p["Result"]
	})
	if v := live(t, m, "net.core.somaxconn"); v != "65535" {
		t.Fatalf("the first write did not happen before the kill: somaxconn %s", v)
	}

	reboot(t, m)
	p := unitProps(t, m, "tcptune-apply.service", "ActiveState", "Result")
	log := m.Run("journalctl", "-b", "-u", "tcptune-apply.service", "-o", "cat", "--no-pager").Stdout
	if p["ActiveState"] != "failed" || !strings.Contains(log, "tcptune rollback") {
		t.Errorf("at boot over a crashed transaction: %v, want failed with the recovery in its log:\n%s", p, log)
	}
	t.Logf("tcptune-apply.service at boot over the crashed transaction: %v\n%s", p, log)
	// Nothing was persisted by the crashed apply: the boot restored the
	// default, the record still says applying.
	verifyKeys(t, m, "after the crash and a reboot", defaults)
	var st statusOut
	decode(t, mustCode(t, m.Run("tcptune", "status", "-o", "json"), 2), &st)
	if len(st.Crashed) != 1 || st.Crashed[0].State != "applying" {
		t.Fatalf("status after the crash: crashed %+v", st.Crashed)
	}
	if out := m.Run("tcptune", "status").Stdout; !strings.Contains(out, st.Crashed[0].ID) {
		t.Errorf("status text does not name the crashed transaction %s:\n%s", st.Crashed[0].ID, out)
	}

	// The documented recovery.
	must(t, m.Run("tcptune", "rollback"))
	decode(t, mustCode(t, m.Run("tcptune", "status", "-o", "json"), 0), &st)
	if len(st.Crashed) != 0 {
		t.Errorf("crashed after rollback: %+v", st.Crashed)
	}
	must(t, m.Run("systemctl", "restart", "tcptune-apply.service"))
	verifyKeys(t, m, "after recovery", map[string]string{"net.core.somaxconn": "65535"})
	reboot(t, m)
	if p := unitProps(t, m, "tcptune-apply.service", "ActiveState", "SubState"); p["ActiveState"] != "active" || p["SubState"] != "exited" {
		t.Errorf("boot after recovery: tcptune-apply.service %v", p)
	}
	verifyKeys(t, m, "boot after recovery", map[string]string{"net.core.somaxconn": "65535"})
	mustCode(t, m.Run("tcptune", "status"), 0)
}
