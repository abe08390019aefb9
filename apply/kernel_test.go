package apply

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/tcptune/tcptune/internal/nstest"
	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
	"github.com/tcptune/tcptune/validate"
)

// TestKernelRefusalMidProfile: in a private network namespace, the real
// kernel refuses tcp_syn_retries = 200 (max 127, MAX_TCP_SYNCNT in
// net/ipv4/sysctl_net_ipv4.c) after two keys were written: both are
// restored. Then a real apply of the built-ins with read-back, and a
// rollback. Host-wide keys are never written here (NetnsChild).
func TestKernelRefusalMidProfile(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	fs := sysctl.NewFS("")
	e := newTxEnv(t, nil)
	e.fs, e.opts.FS, e.opts.Netns = fs, fs, netns.Child
	keys := []string{"net.core.somaxconn", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_syn_retries", "net.ipv4.tcp_synack_retries", "net.ipv4.tcp_keepalive_time"}
	orig := map[string]sysctl.Value{}
	for _, k := range keys {
		v, err := fs.Read(sysctl.MustKey(k))
		must(t, err)
		orig[k] = v
	}
	bad := profileFile(t, "name: bad\nsettings:\n  net.core.somaxconn: 777\n  net.ipv4.tcp_fin_timeout: 17\n  net.ipv4.tcp_syn_retries: 200\n")
	o := e.opts
	// Validation would catch 200 first; this test is about the kernel.
	o.Validator = func(*profiles.Resolved) []validate.Diagnostic { return nil }
	_, err := Apply(context.Background(), bad, o)
	var te *TxError
	if !errors.As(err, &te) || te.Key != sysctl.MustKey("net.ipv4.tcp_syn_retries") || !te.Restored || !errors.Is(err, sysctl.ErrRejected) {
		t.Fatalf("err = %v, want a restored kernel refusal of tcp_syn_retries", err)
	}
	check := func(when string) {
		for _, k := range keys {
			if v, _ := fs.Read(sysctl.MustKey(k)); v != orig[k] {
				t.Errorf("%s: %s = %q, want original %q", when, k, v, orig[k])
			}
		}
	}
	check("after refusal")

	res, err := Apply(context.Background(), builtin(t, profiles.FailFast, profiles.HighConcurrency), e.opts)
	must(t, err)
	if v, _ := fs.Read(sysctl.MustKey("net.ipv4.tcp_syn_retries")); v != "3" {
		t.Errorf("tcp_syn_retries = %q after apply", v)
	}
	for _, s := range res.Settings {
		if s.Key.String() == "net.core.rmem_max" && s.Action != ActionHostWide {
			t.Errorf("rmem_max action %s in a child namespace", s.Action)
		}
	}
	if _, err := os.Stat(e.opts.PersistPath()); err != nil {
		t.Errorf("persisted file: %v", err)
	}
	_, err = Rollback(context.Background(), e.opts, "")
	must(t, err)
	check("after rollback")
}
