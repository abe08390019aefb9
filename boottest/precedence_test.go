package boottest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// oracleProfile sets every key to a value no other file and no kernel
// default uses, so each live value after boot names the file that won.
const oracleProfile = `name: oracle
description: boot test precedence oracle
settings:
  net.core.somaxconn: 5001
  net.ipv4.tcp_max_syn_backlog: 5101
  net.ipv4.tcp_fin_timeout: 31
  net.ipv4.tcp_keepalive_time: 3001
  net.ipv4.tcp_keepalive_intvl: 41
  net.ipv4.tcp_keepalive_probes: 7
  net.ipv4.tcp_syn_retries: 4
  net.ipv4.tcp_synack_retries: 4
  net.ipv4.tcp_tw_reuse: 0
  net.ipv4.ip_local_port_range: "20000 60000"
`

// oracleFiles spread conflicting settings over every place the loaders
// read. Each key's expected winner is in the comment; the test does not
// use these expectations, it checks tcptune's report against the boot.
var oracleFiles = map[string]string{
	// somaxconn: a later file name wins over 90-tcptune.conf.
	"/etc/sysctl.d/99-late.conf": "net.core.somaxconn = 5002\n" +
		// syn_retries, synack_retries: a glob after tcptune's explicit keys.
		"net.ipv4.tcp_syn*_retries = 5\n",
	// tcp_max_syn_backlog: the same file name in two directories: /etc's wins.
	"/usr/lib/sysctl.d/95-twice.conf": "net.ipv4.tcp_max_syn_backlog = 5102\n",
	"/etc/sysctl.d/95-twice.conf":     "net/ipv4/tcp_max_syn_backlog = 5103\n",
	// tcp_fin_timeout: a file masked by a /dev/null link of the same name.
	"/usr/lib/sysctl.d/96-masked.conf": "net.ipv4.tcp_fin_timeout = 32\n",
	// tcp_keepalive_time: /run/sysctl.d.
	"/run/sysctl.d/97-run.conf": "net.ipv4.tcp_keepalive_time = 3002\n",
	// tcp_keepalive_intvl: /usr/local/lib/sysctl.d, a "-key" line.
	"/usr/local/lib/sysctl.d/98-local.conf": "-net.ipv4.tcp_keepalive_intvl = 42\n",
	// tcp_tw_reuse: an earlier file name loses to tcptune's.
	"/usr/lib/sysctl.d/10-early.conf": "net.ipv4.tcp_tw_reuse = 1\n",
	// ip_local_port_range: 99-zzz.conf sorts after Debian's
	// 99-sysctl.conf -> ../sysctl.conf, which procps reads again last.
	"/etc/sysctl.d/99-zzz.conf": "net.ipv4.ip_local_port_range = 22000 62000\n",
}

// sysctlConf is appended to Debian's /etc/sysctl.conf (all comments).
const sysctlConf = "net.ipv4.tcp_keepalive_probes = 8\nnet.ipv4.ip_local_port_range = 21000 61000\n"

// TestPrecedenceOracle: tcptune's precedence report predicts, for every
// persisted key, the value systemd-sysctl leaves at boot and the value
// procps `sysctl --system` leaves; a reboot and a run of sysctl --system in
// the container check each prediction against the kernel.
func TestPrecedenceOracle(t *testing.T) {
	m := boot(t, "precedence")
	install(t, m, deb1)
	profile := filepath.Join(env.share, "oracle.yaml")
	if err := os.WriteFile(profile, []byte(oracleProfile), 0o644); err != nil {
		t.Fatal(err)
	}
	var script strings.Builder
	for path, body := range oracleFiles {
		script.WriteString("mkdir -p " + filepath.Dir(path) + " && printf '%s' '" + body + "' > " + path + "\n")
	}
	script.WriteString("ln -s /dev/null /etc/sysctl.d/96-masked.conf\n")
	script.WriteString("printf '%s' '" + sysctlConf + "' >> /etc/sysctl.conf\n")
	must(t, m.Sh("set -e\n"+script.String()))

	var res applyOut
	decode(t, must(t, m.Run("tcptune", "apply", "-f", ShareDir+"/oracle.yaml", "oracle", "-o", "json")), &res)
	if res.Persisted == nil || len(res.Persisted.Report) != strings.Count(oracleProfile, "\n  net.") {
		t.Fatalf("apply: no precedence report for every key: %+v", res.Persisted)
	}
	// /run is a tmpfs: the container's boot would lose 97-run.conf, as any
	// machine's would. Recreate it early in the next boot from a unit
	// ordered before systemd-sysctl, like a generator or initrd would.
	must(t, m.Sh(`set -e
cp /run/sysctl.d/97-run.conf /etc/boottest-97-run.conf
cat > /etc/systemd/system/boottest-run-sysctl.service <<'EOF'
[Unit]
DefaultDependencies=no
Before=systemd-sysctl.service
After=local-fs.target
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'mkdir -p /run/sysctl.d && cp /etc/boottest-97-run.conf /run/sysctl.d/97-run.conf'
[Install]
WantedBy=sysinit.target
EOF
systemctl enable boottest-run-sysctl.service`))

	reboot(t, m)
	check := func(order string, pick func(systemd, procps *assignment) *assignment) {
		for _, p := range res.Persisted.Report {
			w := pick(p.Systemd, p.Procps)
			figures.Lock()
			figures.predictions++
			figures.Unlock()
			if w == nil {
				t.Errorf("%s: report predicts nothing sets %s", order, p.Key)
				continue
			}
			got := live(t, m, p.Key)
			if got != w.Value {
				t.Errorf("%s: %s = %q live, report predicted %q from %s:%d", order, p.Key, got, w.Value, w.File, w.Line)
				continue
			}
			figures.Lock()
			figures.matched++
			figures.keys++
			figures.Unlock()
			t.Logf("%s: %s = %q from %s:%d, as predicted", order, p.Key, got, w.File, w.Line)
		}
	}
	check("systemd-sysctl at boot", func(s, _ *assignment) *assignment { return s })
	// procps: sysctl --system fails on the read-only non-net keys of the
	// container (kernel.pid_max, fs.protected_*); the net keys are its own.
	r := m.Run("sysctl", "--system")
	t.Logf("sysctl --system: exit %d\n%s", r.Code, r.Stderr)
	check("procps sysctl --system", func(_, p *assignment) *assignment { return p })
}
