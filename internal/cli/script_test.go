package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/tcptune/tcptune/sysctl"
)

// TestMain lets testscript run tcptune in-process as a command.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"tcptune": func() { os.Exit(Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs testdata/script/*.txtar: the README's commands against a
// fake sysctl root, with their output and exit status.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"fakeroot": cmdFakeRoot,
		},
		Setup: func(env *testscript.Env) error {
			// Never let a script touch the machine's own paths by accident.
			env.Setenv("TCPTUNE_TEST", "1")
			return nil
		},
	})
}

// hostDefaults are a stock kernel's values for the keys the built-ins use.
var hostDefaults = map[string]string{
	"net.core.somaxconn":                  "4096",
	"net.core.netdev_max_backlog":         "1000",
	"net.core.rmem_max":                   "212992",
	"net.core.wmem_max":                   "212992",
	"net.ipv4.tcp_max_syn_backlog":        "2048",
	"net.ipv4.ip_local_port_range":        "32768\t60999",
	"net.ipv4.ip_unprivileged_port_start": "1024",
	"net.ipv4.ip_local_reserved_ports":    "",
	"net.ipv4.tcp_tw_reuse":               "2",
	"net.ipv4.tcp_abort_on_overflow":      "0",
	"net.ipv4.tcp_rmem":                   "4096\t131072\t6291456",
	"net.ipv4.tcp_wmem":                   "4096\t16384\t4194304",
	"net.ipv4.tcp_syncookies":             "1",
	"net.ipv4.tcp_syn_retries":            "6",
	"net.ipv4.tcp_synack_retries":         "5",
	"net.ipv4.tcp_fin_timeout":            "60",
	"net.ipv4.tcp_keepalive_time":         "7200",
	"net.ipv4.tcp_keepalive_intvl":        "75",
	"net.ipv4.tcp_keepalive_probes":       "9",
}

// cmdFakeRoot DIR [KEY=VALUE...]: write a fake sysctl tree with stock values,
// overridden by the arguments. A KEY=- removes the key.
func cmdFakeRoot(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: fakeroot DIR [KEY=VALUE...]")
	}
	root := ts.MkAbs(args[0])
	vals := map[string]string{}
	for k, v := range hostDefaults {
		vals[k] = v
	}
	for _, a := range args[1:] {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			ts.Fatalf("fakeroot: %q is not KEY=VALUE", a)
		}
		vals[k] = v
	}
	for k, v := range vals {
		p := filepath.Join(root, sysctl.MustKey(k).Path())
		if v == "-" {
			os.Remove(p)
			continue
		}
		ts.Check(os.MkdirAll(filepath.Dir(p), 0o755))
		ts.Check(os.WriteFile(p, []byte(v+"\n"), 0o644))
	}
}
