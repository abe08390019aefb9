package boottest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

type installOut struct {
	Changed  bool     `json:"changed"`
	Units    []string `json:"units"`
	Enabled  bool     `json:"enabled"`
	Started  bool     `json:"started"`
	Commands []string `json:"commands"`
}

// TestUnitsThroughDBus: `tcptune systemd install high-concurrency --now`
// talks to the container's systemd over D-Bus; after a reboot the apply
// unit is active (exited), reconcile is active (READY=1 received) and keeps
// its watchdog, corrects a value changed behind its back and records who
// changed what and when in the journal; `systemd uninstall` leaves no unit.
func TestUnitsThroughDBus(t *testing.T) {
	m := boot(t, "dbus")
	install(t, m, deb1)

	var in installOut
	decode(t, must(t, m.Run("tcptune", "systemd", "install", "high-concurrency", "--now", "--interval", "5s", "-o", "json")), &in)
	if !in.Enabled || !in.Started || len(in.Commands) != 0 {
		t.Fatalf("install did not enable and start through D-Bus: %+v", in)
	}
	for _, u := range []string{"tcptune-apply.service", "tcptune-reconcile.service"} {
		if p := unitProps(t, m, u, "UnitFileState", "FragmentPath"); p["UnitFileState"] != "enabled" || p["FragmentPath"] != "/etc/systemd/system/"+u {
			t.Errorf("%s after install: %v", u, p)
		}
		// /usr/bin/tcptune has no D-Bus and ran /usr/lib/tcptune/tcptune-ext
		// for this; the units must still start tcptune itself.
		if p := unitProps(t, m, u, "ExecStart"); !strings.Contains(p["ExecStart"], "path=/usr/bin/tcptune ;") {
			t.Errorf("%s: ExecStart %q, want /usr/bin/tcptune", u, p["ExecStart"])
		}
	}

	reboot(t, m)
	ap := unitProps(t, m, "tcptune-apply.service", "ActiveState", "SubState", "Result", "ExecMainStatus")
	if ap["ActiveState"] != "active" || ap["SubState"] != "exited" || ap["Result"] != "success" {
		t.Errorf("tcptune-apply.service after boot: %v\n%s", ap, m.Run("journalctl", "-b", "-u", "tcptune-apply.service", "--no-pager").Stdout)
	}
	rp := unitProps(t, m, "tcptune-reconcile.service", "ActiveState", "SubState", "Type", "StatusText", "WatchdogUSec", "WatchdogTimestampMonotonic", "NRestarts", "MainPID")
	// Type=notify is active only after READY=1.
	if rp["ActiveState"] != "active" || rp["SubState"] != "running" || !strings.HasPrefix(rp["StatusText"], "enforce:") || rp["WatchdogUSec"] != "30s" {
		t.Fatalf("tcptune-reconcile.service after boot: %v\n%s", rp, m.Run("journalctl", "-b", "-u", "tcptune-reconcile.service", "--no-pager").Stdout)
	}
	verifyKeys(t, m, "after boot", map[string]string{"net.core.somaxconn": "65535", "net.ipv4.tcp_max_syn_backlog": "65535"})

	// Behind its back: the loop puts it back within an interval or two.
	must(t, m.Run("sysctl", "-q", "-w", "net.core.somaxconn=128"))
	waitFor(t, "reconcile corrects somaxconn", 20*time.Second, func() (bool, string) {
		v := live(t, m, "net.core.somaxconn")
		return v == "65535", v
	})
	var rec map[string]any
	waitFor(t, "journal record of the correction", 10*time.Second, func() (bool, string) {
		recs := journalRecords(t, m, "TCPTUNE_KEY=net.core.somaxconn", "TCPTUNE_ACTION=reconcile")
		for _, r := range recs {
			if r["TCPTUNE_BEFORE"] == "128" && r["TCPTUNE_AFTER"] == "65535" {
				rec = r
				return true, ""
			}
		}
		return false, fmt.Sprint(recs)
	})
	for field, want := range map[string]string{"_SYSTEMD_UNIT": "tcptune-reconcile.service", "TCPTUNE_ACTOR": "systemd", "SYSLOG_IDENTIFIER": "tcptune"} {
		if rec[field] != want {
			t.Errorf("journal record %s = %v, want %q (%v)", field, rec[field], want, rec)
		}
	}
	if ts, _ := rec["TCPTUNE_TIME"].(string); ts == "" {
		t.Errorf("journal record has no TCPTUNE_TIME: %v", rec)
	}
	if tx, _ := rec["TCPTUNE_TRANSACTION"].(string); tx == "" {
		t.Errorf("journal record has no TCPTUNE_TRANSACTION: %v", rec)
	}

	// The watchdog is kept: systemd saw a WATCHDOG=1 after READY=1 (every
	// 15s with WatchdogSec=30s), and the service was never restarted.
	t.Logf("reconcile after boot: %v; correction recorded: %v %v->%v by %v at %v", rp, rec["TCPTUNE_ACTION"], rec["TCPTUNE_BEFORE"], rec["TCPTUNE_AFTER"], rec["TCPTUNE_ACTOR"], rec["TCPTUNE_TIME"])
	first := rp["WatchdogTimestampMonotonic"]
	waitFor(t, "a watchdog ping", 25*time.Second, func() (bool, string) {
		p := unitProps(t, m, "tcptune-reconcile.service", "WatchdogTimestampMonotonic")
		return p["WatchdogTimestampMonotonic"] != first, p["WatchdogTimestampMonotonic"]
	})
	if p := unitProps(t, m, "tcptune-reconcile.service", "NRestarts", "MainPID", "ActiveState"); p["NRestarts"] != "0" || p["MainPID"] != rp["MainPID"] || p["ActiveState"] != "active" {
		t.Errorf("reconcile restarted or stopped: %v (was %v)", p, rp)
	}

	must(t, m.Run("tcptune", "systemd", "uninstall"))
	noUnitLeft(t, m)
	reboot(t, m)
	noUnitLeft(t, m)
}

// noUnitLeft: no tcptune unit or enablement link under /etc/systemd, both
// units inactive; what remains is the package's own disabled unit file.
func noUnitLeft(t *testing.T, m *Machine) {
	t.Helper()
	if out := must(t, m.Run("find", "/etc/systemd", "/run/systemd/system", "-name", "tcptune*")).Stdout; out != "" {
		t.Errorf("left behind:\n%s", out)
	}
	for _, u := range []string{"tcptune-apply.service", "tcptune-reconcile.service"} {
		p := unitProps(t, m, u, "ActiveState", "UnitFileState", "FragmentPath")
		if p["ActiveState"] != "inactive" || p["UnitFileState"] != "disabled" || p["FragmentPath"] != "/lib/systemd/system/"+u && p["FragmentPath"] != "/usr/lib/systemd/system/"+u {
			t.Errorf("%s after uninstall: %v", u, p)
		}
	}
}
