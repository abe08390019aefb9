package boottest

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// listenerUnits: systemd itself listens on 127.0.0.1:8080 with a backlog
// of 128, a listener that a raised somaxconn leaves capped (the service is
// never triggered: no connection is made).
const listenerUnits = `set -e
cat > /etc/systemd/system/boottest-listen.socket <<'EOF'
[Socket]
ListenStream=127.0.0.1:8080
Backlog=128
EOF
cat > /etc/systemd/system/boottest-listen.service <<'EOF'
[Service]
ExecStart=/bin/sleep infinity
EOF
systemctl daemon-reload
systemctl start boottest-listen.socket
mkdir -p /var/lib/node_exporter/textfile`

// TestHardeningVsFunction: under each generated unit's sandboxing the
// command does everything it documents: apply lists the listeners to
// restart (inet_diag over netlink), writes the journal, its state directory
// and the persisted file; reconcile corrects, writes the journal, its state
// and its textfile. Documentation= names man pages the package installs.
func TestHardeningVsFunction(t *testing.T) {
	m := boot(t, "hardening")
	install(t, m, deb1)
	must(t, m.Sh(listenerUnits))
	const textfile = "/var/lib/node_exporter/textfile/tcptune.prom"
	var in installOut
	decode(t, must(t, m.Run("tcptune", "systemd", "install", "high-concurrency", "--interval", "5s", "--textfile", textfile, "-o", "json")), &in)
	if !in.Enabled || in.Started {
		t.Fatalf("install without --now: %+v", in)
	}

	// apply, started by systemd under its sandbox.
	must(t, m.Run("systemctl", "start", "tcptune-apply.service"))
	out := must(t, m.Run("journalctl", "-u", "tcptune-apply.service", "-o", "cat", "--no-pager")).Stdout
	if strings.Contains(out, "could not list listeners") || !regexp.MustCompile(`127\.0\.0\.1:8080\s+backlog 128 < 65535`).MatchString(out) {
		t.Errorf("tcptune-apply.service did not list the capped listener (restart list over netlink):\n%s", out)
	}
	if recs := journalRecords(t, m, "_SYSTEMD_UNIT=tcptune-apply.service", "TCPTUNE_ACTION=apply"); len(recs) == 0 {
		t.Errorf("no audit record from tcptune-apply.service in the journal")
	}
	if n := must(t, m.Sh("ls /var/lib/tcptune/tx/ | wc -l")).Stdout; strings.TrimSpace(n) == "0" {
		t.Errorf("no transaction record in the state directory")
	}
	if !exists(m, persisted) {
		t.Errorf("tcptune-apply.service did not persist %s", persisted)
	}

	// reconcile, under its sandbox: a correction, the journal, its state,
	// its textfile.
	// The persisted file is removed too, so the correction has to write
	// the sysctl.d directory again (a file that would not change is not
	// rewritten).
	must(t, m.Run("systemctl", "start", "tcptune-reconcile.service"))
	must(t, m.Run("rm", persisted))
	must(t, m.Run("sysctl", "-q", "-w", "net.core.somaxconn=100"))
	waitFor(t, "reconcile corrects somaxconn and persists it", 20*time.Second, func() (bool, string) {
		v := live(t, m, "net.core.somaxconn")
		f := m.Run("cat", persisted)
		return v == "65535" && strings.Contains(f.Stdout, "net.core.somaxconn = 65535"), v + "; " + f.Stdout + f.Stderr
	})
	waitFor(t, "reconcile's journal record, state and textfile", 10*time.Second, func() (bool, string) {
		recs := journalRecords(t, m, "_SYSTEMD_UNIT=tcptune-reconcile.service", "TCPTUNE_ACTION=reconcile")
		prom := m.Run("cat", textfile).Stdout
		state := m.Run("cat", "/var/lib/tcptune/reconcile.json")
		ok := len(recs) > 0 && strings.Contains(prom, "tcptune_reconcile_corrections_total 1") && state.Code == 0
		return ok, fmt.Sprintf("%d records; textfile:\n%s\nstate: %s", len(recs), prom, state.Stdout)
	})
	if p := unitProps(t, m, "tcptune-reconcile.service", "ActiveState", "NRestarts"); p["ActiveState"] != "active" || p["NRestarts"] != "0" {
		t.Errorf("reconcile: %v\n%s", p, m.Run("journalctl", "-u", "tcptune-reconcile.service", "--no-pager").Stdout)
	}
	// No warning from either (stderr reaches the journal at stdout's
	// priority, so the text is searched, not the priority).
	for _, u := range []string{"tcptune-apply.service", "tcptune-reconcile.service"} {
		if out := m.Run("journalctl", "-u", u, "-o", "cat", "--no-pager").Stdout; strings.Contains(out, "tcptune: warning") {
			t.Errorf("%s warned under its sandbox:\n%s", u, out)
		}
	}

	// Documentation= of both the installed and the packaged units.
	docs := 0
	for _, f := range []string{"/etc/systemd/system/", "/usr/lib/systemd/system/"} {
		for _, u := range []string{"tcptune-apply.service", "tcptune-reconcile.service"} {
			line := must(t, m.Run("grep", "^Documentation=", f+u)).Stdout
			for _, ref := range strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "Documentation=")) {
				mm := regexp.MustCompile(`^man:([a-z0-9._-]+)\(([0-9])\)$`).FindStringSubmatch(ref)
				if mm == nil {
					t.Errorf("%s%s: Documentation %q is not a man page", f, u, ref)
					continue
				}
				page := fmt.Sprintf("/usr/share/man/man%s/%s.%s.gz", mm[2], mm[1], mm[2])
				if r := m.Run("dpkg", "-S", page); r.Code != 0 || !strings.HasPrefix(r.Stdout, "tcptune: ") {
					t.Errorf("%s%s: %s: %s is not installed by the tcptune package (%s)", f, u, ref, page, strings.TrimSpace(r.Stdout+r.Stderr))
				}
				docs++
			}
		}
	}
	if docs == 0 {
		t.Error("no Documentation= in the units")
	}
	// The units as systemd itself checks them inside the container.
	// --man=no: minbase has no man(1); the pages are checked above with dpkg -S.
	must(t, m.Run("systemd-analyze", "verify", "--man=no", "/etc/systemd/system/tcptune-apply.service", "/etc/systemd/system/tcptune-reconcile.service"))
}
