package boottest

import (
	"strings"
	"testing"
)

const hostYAML = "/etc/tcptune/profiles.d/host.yaml"

// packaged are the files the .deb installs that removal takes away.
var packaged = []string{
	"/usr/bin/tcptune",
	"/usr/lib/systemd/system/tcptune-apply.service",
	"/usr/lib/systemd/system/tcptune-reconcile.service",
	"/usr/share/man/man8/tcptune.8.gz",
	"/usr/share/bash-completion/completions/tcptune",
	"/usr/share/doc/tcptune/README.md",
}

// TestPackageLifeCycle: dpkg -i, an upgrade to a rebuilt .deb, dpkg -r,
// dpkg --purge, each checked against what the README's packaging section
// says is installed, kept, restarted, removed and restored.
func TestPackageLifeCycle(t *testing.T) {
	m := boot(t, "package")
	defaults := map[string]string{"net.core.somaxconn": live(t, m, "net.core.somaxconn")}

	// Install: files in place, units disabled, nothing applied.
	install(t, m, deb1)
	if v := must(t, m.Run("dpkg-query", "-W", "-f", "${Version} ${db:Status-Abbrev}", "tcptune")).Stdout; v != "1.0.0~boot1 ii " {
		t.Errorf("after dpkg -i: %q", v)
	}
	for _, f := range append(packaged, hostYAML, "/var/lib/tcptune") {
		if !exists(m, f) {
			t.Errorf("after dpkg -i: %s missing", f)
		}
	}
	for _, u := range []string{"tcptune-apply.service", "tcptune-reconcile.service"} {
		if p := unitProps(t, m, u, "UnitFileState", "ActiveState"); p["UnitFileState"] != "disabled" || p["ActiveState"] != "inactive" {
			t.Errorf("after dpkg -i: %s %v, want installed disabled", u, p)
		}
	}
	verifyKeys(t, m, "after dpkg -i (nothing applied)", defaults)

	// The admin's decision: edit host.yaml, enable both units.
	must(t, m.Sh("echo '# admin: keep this line' >> "+hostYAML))
	must(t, m.Run("systemctl", "enable", "--now", "tcptune-apply.service", "tcptune-reconcile.service"))
	verifyKeys(t, m, "after enable --now", map[string]string{"net.core.somaxconn": "65535"})
	pid1 := unitProps(t, m, "tcptune-reconcile.service", "MainPID")["MainPID"]

	// Upgrade: the admin's conffile kept, the units still enabled, the
	// running reconcile restarted onto the new binary, state kept.
	install(t, m, deb2)
	if v := must(t, m.Run("dpkg-query", "-W", "-f", "${Version}", "tcptune")).Stdout; v != "1.0.0~boot2" {
		t.Errorf("after upgrade: version %q", v)
	}
	if !strings.Contains(must(t, m.Run("cat", hostYAML)).Stdout, "# admin: keep this line") || exists(m, hostYAML+".dpkg-dist") {
		t.Errorf("upgrade did not keep the admin's %s", hostYAML)
	}
	rp := unitProps(t, m, "tcptune-reconcile.service", "MainPID", "ActiveState", "UnitFileState")
	if rp["ActiveState"] != "active" || rp["MainPID"] == pid1 || rp["UnitFileState"] != "enabled" {
		t.Errorf("after upgrade: reconcile %v, want restarted (was pid %s) and enabled", rp, pid1)
	}
	if v := must(t, m.Run("tcptune", "version")).Stdout; !strings.Contains(v, "1.0.0~boot2") {
		t.Errorf("after upgrade: tcptune version %q", v)
	}
	if exe := must(t, m.Run("readlink", "/proc/"+rp["MainPID"]+"/exe")).Stdout; strings.TrimSpace(exe) != "/usr/bin/tcptune" {
		t.Errorf("reconcile runs %q", exe)
	}

	// Remove: units stopped and disabled, package files gone; the
	// conffile, the state (rollback still possible) and the persisted file
	// stay, and so do the live values (removal is not a rollback).
	must(t, m.Run("dpkg", "-r", "tcptune"))
	if v := must(t, m.Run("dpkg-query", "-W", "-f", "${db:Status-Abbrev}", "tcptune")).Stdout; v != "rc " {
		t.Errorf("after dpkg -r: status %q, want rc", v)
	}
	for _, f := range packaged {
		if exists(m, f) {
			t.Errorf("after dpkg -r: %s still there", f)
		}
	}
	for _, f := range []string{hostYAML, "/var/lib/tcptune/tx", persisted} {
		if !exists(m, f) {
			t.Errorf("after dpkg -r: %s gone, the README says it stays", f)
		}
	}
	if out := must(t, m.Run("find", "/etc/systemd", "-name", "tcptune*")).Stdout; out != "" {
		t.Errorf("after dpkg -r: enablement links left:\n%s", out)
	}
	for _, u := range []string{"tcptune-apply.service", "tcptune-reconcile.service"} {
		if p := unitProps(t, m, u, "ActiveState", "LoadState"); p["ActiveState"] != "inactive" {
			t.Errorf("after dpkg -r: %s %v", u, p)
		}
	}
	verifyKeys(t, m, "after dpkg -r", map[string]string{"net.core.somaxconn": "65535"})

	// Purge: the conffile, the state and the persisted file go; the live
	// values stay until the next boot, which restores the defaults.
	must(t, m.Run("dpkg", "--purge", "tcptune"))
	if r := m.Run("dpkg-query", "-W", "tcptune"); r.Code == 0 {
		t.Errorf("after purge dpkg still knows tcptune: %s", r.Stdout)
	}
	for _, f := range []string{hostYAML, "/etc/tcptune", "/var/lib/tcptune", persisted} {
		if exists(m, f) {
			t.Errorf("after dpkg --purge: %s still there", f)
		}
	}
	verifyKeys(t, m, "after dpkg --purge", map[string]string{"net.core.somaxconn": "65535"})
	reboot(t, m)
	verifyKeys(t, m, "after purge and reboot", defaults)
	if out := must(t, m.Sh("ls -d /etc/sysctl.d/*tcptune* /var/lib/tcptune /etc/tcptune 2>/dev/null || true")).Stdout; out != "" {
		t.Errorf("after purge and reboot: %s", out)
	}
}
