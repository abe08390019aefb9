package apply

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcptune/tcptune/sysctl"
)

func TestParseConf(t *testing.T) {
	in := "# comment\n; also\n\n  net.core.somaxconn = 1024  \n-net.ipv4.tcp_syn_retries=4\nnot an assignment\nnet/ipv4/conf/eth0.100/forwarding = 1\nnet.ipv4.conf.*.rp_filter = 2\nnet.ipv4.tcp_rmem = 4096\t87380   6291456\n"
	got, err := parseConf("f.conf", strings.NewReader(in))
	must(t, err)
	want := []Assignment{
		{Key: "net.core.somaxconn", Value: "1024", File: "f.conf", Line: 4},
		{Key: "net.ipv4.tcp_syn_retries", Value: "4", File: "f.conf", Line: 5, IgnoreFailure: true},
		{Key: "net/ipv4/conf/eth0.100/forwarding", Value: "1", File: "f.conf", Line: 7},
		{Key: "net.ipv4.conf.*.rp_filter", Value: "2", File: "f.conf", Line: 8},
		{Key: "net.ipv4.tcp_rmem", Value: "4096 87380 6291456", File: "f.conf", Line: 9},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if hit, _ := got[2].matcher().match(sysctl.MustKey("net.ipv4.conf.eth0/100.forwarding")); !hit {
		t.Error("slash-form key with a dotted interface does not match its dotted form")
	}
	if hit, glob := got[3].matcher().match(sysctl.MustKey("net.ipv4.conf.all.rp_filter")); !hit || !glob {
		t.Error("glob does not match")
	}
	if hit, _ := got[3].matcher().match(sysctl.MustKey("net.ipv4.conf.all.x.rp_filter")); hit {
		t.Error("glob '*' crossed a path component")
	}
}

// TestPrecedenceReport: fixture directories with masking by name, a
// /dev/null link, a later 99-sysctl.conf, a glob, and /etc/sysctl.conf.
func TestPrecedenceReport(t *testing.T) {
	d := t.TempDir()
	etc, run, usr := filepath.Join(d, "etc/sysctl.d"), filepath.Join(d, "run/sysctl.d"), filepath.Join(d, "usr/lib/sysctl.d")
	conf := filepath.Join(d, "etc/sysctl.conf")
	write := func(p, s string) {
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(s), 0o644))
	}
	// Earlier by name: loses to 90-tcptune.
	write(filepath.Join(usr, "50-default.conf"), "net.core.somaxconn = 1024\nnet.ipv4.tcp_fin_timeout = 40\n")
	// Masked by name: /etc's file of the same name hides /usr/lib's.
	write(filepath.Join(usr, "95-vendor.conf"), "net.ipv4.tcp_syn_retries = 9\n")
	write(filepath.Join(etc, "95-vendor.conf"), "# admin override: nothing\nnet.ipv4.tcp_keepalive_time = 7200\n")
	// A /dev/null link masks the file of that name in every later directory.
	write(filepath.Join(usr, "96-masked.conf"), "net.ipv4.tcp_synack_retries = 9\n")
	must(t, os.Symlink("/dev/null", filepath.Join(etc, "96-masked.conf")))
	// Later by name: overrides tcptune (slash form of the key, '-' prefix).
	write(filepath.Join(run, "99-sysctl.conf"), "-net/ipv4/tcp_keepalive_intvl = 60\n")
	// A glob after tcptune: systemd and procps-ng 4 both keep the explicit key.
	write(filepath.Join(run, "98-glob.conf"), "net.ipv4.tcp_keepalive_pro*s = 7\n")
	// /etc/sysctl.conf: procps only, last.
	write(conf, "net.ipv4.tcp_fin_timeout = 30\n")

	owned := filepath.Join(etc, "90-tcptune.conf")
	f := ownedFile{Profiles: []string{"fail-fast"}, Version: "t"}
	for _, kv := range [][2]string{
		{"net.core.somaxconn", "65535"}, {"net.ipv4.tcp_fin_timeout", "15"}, {"net.ipv4.tcp_keepalive_intvl", "30"},
		{"net.ipv4.tcp_keepalive_probes", "5"}, {"net.ipv4.tcp_keepalive_time", "600"},
		{"net.ipv4.tcp_syn_retries", "3"}, {"net.ipv4.tcp_synack_retries", "3"},
	} {
		f.Entries = append(f.Entries, Original{Key: sysctl.MustKey(kv[0]), Target: sysctl.Value(kv[1])})
	}
	content, err := f.render()
	must(t, err)
	b := bootConfig{dirs: []string{etc, run, usr}, sysctlConf: conf, overlayPath: owned, overlay: content}
	rep, ovr, err := b.precedenceReport(f.Entries)
	must(t, err)
	type win struct{ systemd, procps string }
	got := map[string]win{}
	where := func(a *Assignment) string {
		if a == nil {
			return "-"
		}
		return strings.TrimPrefix(a.File, d+"/") + "=" + string(a.Value)
	}
	for _, p := range rep {
		got[p.Key.String()] = win{where(p.Systemd), where(p.Procps)}
	}
	own := "etc/sysctl.d/90-tcptune.conf"
	want := map[string]win{
		"net.core.somaxconn":            {own + "=65535", own + "=65535"},
		"net.ipv4.tcp_fin_timeout":      {own + "=15", "etc/sysctl.conf=30"},
		"net.ipv4.tcp_keepalive_intvl":  {"run/sysctl.d/99-sysctl.conf=60", "run/sysctl.d/99-sysctl.conf=60"},
		"net.ipv4.tcp_keepalive_probes": {own + "=5", own + "=5"},
		"net.ipv4.tcp_keepalive_time":   {"etc/sysctl.d/95-vendor.conf=7200", "etc/sysctl.d/95-vendor.conf=7200"},
		"net.ipv4.tcp_syn_retries":      {own + "=3", own + "=3"},
		"net.ipv4.tcp_synack_retries":   {own + "=3", own + "=3"},
	}
	if dd := cmp.Diff(want, got, cmp.AllowUnexported(win{})); dd != "" {
		t.Errorf("winners (-want +got):\n%s", dd)
	}
	if len(ovr) != 5 {
		t.Errorf("%d overrides, want 5 (fin_timeout procps, intvl x2, keepalive_time x2; the glob overrides neither order): %+v", len(ovr), ovr)
	}
	for _, o := range ovr {
		if o.Key.String() == "net.ipv4.tcp_keepalive_intvl" && (!o.Winner.IgnoreFailure || o.Winner.Line != 1) {
			t.Errorf("override %+v lost the line or the '-' flag", o)
		}
	}
}

// TestStrictPersist: an override fails the apply before anything is written;
// without --strict-persist it is a warning and the JSON lists it.
func TestStrictPersist(t *testing.T) {
	e := newTxEnv(t, stock)
	p := filepath.Join(e.opts.SearchDirs[1], "99-sysctl.conf")
	must(t, os.MkdirAll(filepath.Dir(p), 0o755))
	must(t, os.WriteFile(p, []byte("net.ipv4.tcp_syn_retries = 6\n"), 0o644))
	before := tree(t, e.fs.Root())
	o := e.opts
	o.StrictPersist = true
	_, err := Apply(t.Context(), builtin(t, "fail-fast"), o)
	if err == nil || !strings.Contains(err.Error(), "99-sysctl.conf:1") {
		t.Fatalf("strict: err = %v, want an override naming 99-sysctl.conf:1", err)
	}
	if dd := cmp.Diff(before, tree(t, e.fs.Root())); dd != "" {
		t.Errorf("strict refusal wrote:\n%s", dd)
	}
	res, err := Apply(t.Context(), builtin(t, "fail-fast"), e.opts)
	must(t, err)
	if len(res.Persisted.OverriddenBy) != 2 || len(res.Warnings) != 2 {
		t.Errorf("overridden_by %+v warnings %v", res.Persisted.OverriddenBy, res.Warnings)
	}
}
