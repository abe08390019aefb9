package validate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcptune/tcptune/internal/nstest"
	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

// TestAllowGrant: allow: lets a profile write a key outside the default
// policy only when its file is trusted; a prefix covers its subtree only.
func TestAllowGrant(t *testing.T) {
	const body = "name: p\nallow: [kernel.core_pattern, vm.*]\nsettings:\n  kernel.core_pattern: core\n  vm.swappiness: 10\n  kernel.modprobe: /x\n"
	r := resolve(t, body)
	ds := Validate(r, nil)
	// Granted keys are outside the catalog: warnings. kernel.modprobe is
	// not granted: refused.
	var errs []string
	for _, d := range ds {
		if d.Severity == SevError {
			errs = append(errs, d.Key)
		}
	}
	if fmt.Sprint(errs) != "[kernel.modprobe]" {
		t.Errorf("errors for %v, want only kernel.modprobe:\n%s", errs, dump(ds))
	}
	// The same file, untrusted: nothing granted, and the message says why
	// and how to fix it.
	r.Sources[0].Untrusted = "writable by group or others (mode 0664) (p.yaml)"
	ds = Validate(r, nil)
	n := 0
	for _, d := range ds {
		if d.Severity == SevError {
			n++
			if d.Key != "kernel.modprobe" && !strings.Contains(d.Hint, "chmod go-w") {
				t.Errorf("untrusted grant without the fix: %s", d)
			}
		}
	}
	if n != 3 {
		t.Errorf("%d errors for an untrusted allow:, want 3:\n%s", n, dump(ds))
	}
	if !AllowMatches("vm.*", sysctl.MustKey("vm.swappiness")) || AllowMatches("vm.*", sysctl.MustKey("vmx.a")) ||
		AllowMatches("kernel.core_pattern", sysctl.MustKey("kernel.core_pattern_x")) {
		t.Error("AllowMatches matches the wrong keys")
	}
	// The default policy, as records and every writer ask it.
	if err := KeyAllowed(sysctl.MustKey("kernel.core_pattern")); !errors.Is(err, ErrKeyNotAllowed) {
		t.Errorf("KeyAllowed(kernel.core_pattern) = %v", err)
	}
	if err := (Policy{Allow: []string{"kernel.*"}}).KeyAllowed(sysctl.MustKey("kernel.core_pattern")); err != nil {
		t.Errorf("Policy with kernel.* refuses kernel.core_pattern: %v", err)
	}
}

// TestKernelIntSyntax: fields the kernel's proc_get_long reads differently
// from decimal are refused for catalog integers, warned for unknown keys.
func TestKernelIntSyntax(t *testing.T) {
	const somax = "net.core.somaxconn"
	for _, tt := range []struct {
		value string
		sev   Severity // "" = fine
		want  string
	}{
		{`"010"`, SevError, "would store 8"},
		{`"-010"`, SevError, "would store -8"},
		{`"0x10"`, SevError, "prints it back as 16"},
		{`"+15"`, SevError, "refuses a leading '+'"},
		{`"09"`, SevError, "not an octal number"},
		{`"123456789012345678901"`, SevError, "more than 20 characters"},
		{`"10"`, "", ""},
		{`0`, "", ""},
	} {
		ds := Validate(resolve(t, profile(somax+": "+tt.value)), nil)
		if tt.sev == "" {
			if HasErrors(ds) {
				t.Errorf("%s: %s", tt.value, dump(ds))
			}
			continue
		}
		check(t, ds, []brief{valAt(tt.sev, somax, 1)}, tt.want)
	}
	// A key tcptune does not know may be a string: a warning.
	ds := Validate(resolve(t, profile(`net.ipv4.tcp_ecn: "010"`)), nil)
	if HasErrors(ds) || !strings.Contains(dump(ds), "would store 8") {
		t.Errorf("unknown key with 010:\n%s", dump(ds))
	}
	// Vectors: every field.
	ds = Validate(resolve(t, profile(`net.ipv4.tcp_rmem: "4096 +87380 06291456"`)), nil)
	if n := strings.Count(dump(ds), "error"); n != 2 {
		t.Errorf("tcp_rmem with two bad fields: %d errors:\n%s", n, dump(ds))
	}
}

// TestKernelIntSyntaxOnRealKernel: what TestKernelIntSyntax claims, checked
// against the kernel in a private network namespace: "010" is stored as 8,
// "0x10" as 16, "+15" refused.
func TestKernelIntSyntaxOnRealKernel(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	nstest.Guard(t)
	fs := sysctl.NewFS("")
	k := sysctl.MustKey("net.core.somaxconn")
	for _, tt := range []struct{ write, read string }{{"010", "8"}, {"0x10", "16"}, {"-0", "0"}, {"20", "20"}} {
		if err := fs.Write(k, sysctl.Value(tt.write)); err != nil {
			t.Fatalf("write %q: %v", tt.write, err)
		}
		if got, err := fs.Read(k); err != nil || string(got) != tt.read {
			t.Errorf("wrote %q, kernel reads back %q (%v), want %q", tt.write, got, err, tt.read)
		}
	}
	if err := fs.Write(k, "+15"); !errors.Is(err, sysctl.ErrRejected) {
		t.Errorf("write +15: %v, want the kernel's refusal", err)
	}
	for _, v := range []string{"010", "0x10", "+15"} {
		if ds := Validate(resolve(t, profile(fmt.Sprintf("net.core.somaxconn: %q", v))), nil); !HasErrors(ds) {
			t.Errorf("validate accepts %q, which the kernel reads differently", v)
		}
	}
}

// TestLargeProfileSuggestionsBounded: did-you-mean runs for the first
// maxSuggestedKeys unknown keys only, so a profile of thousands of unknown
// keys costs a bounded number of catalog scans.
func TestLargeProfileSuggestionsBounded(t *testing.T) {
	var lines []string
	for i := 0; i < 3000; i++ {
		lines = append(lines, fmt.Sprintf("net.ipv4.tcp_syncookie%d: 1", i))
	}
	ds := Validate(resolve(t, profile(lines...)), nil)
	n := 0
	for _, d := range ds {
		if strings.Contains(d.Hint, "did you mean") {
			n++
		}
	}
	if n == 0 || n > maxSuggestedKeys {
		t.Errorf("%d diagnostics with did-you-mean, want 1..%d", n, maxSuggestedKeys)
	}
	if len(ds) != 3000 {
		t.Errorf("%d diagnostics, want one per key (3000)", len(ds))
	}
}

// TestShadowWarning: a profile hiding a built-in is reported by Validate,
// which every command runs.
func TestShadowWarning(t *testing.T) {
	r := resolve(t, profile("net.core.somaxconn: 8192"))
	r.Sources[0].Shadows = "builtin/p.yaml"
	ds := Validate(r, nil)
	if len(ds) != 1 || ds[0].Severity != SevWarning || !strings.Contains(ds[0].Message, "shadows the built-in profile") {
		t.Errorf("shadow: %s", dump(ds))
	}
}

func TestTwReuseNeedsTimestamps(t *testing.T) {
	ds := Validate(resolve(t, profile("net.ipv4.tcp_timestamps: 0", "net.ipv4.tcp_tw_reuse: 1")), nil)
	check(t, ds, []brief{valAt(SevWarning, "net.ipv4.tcp_tw_reuse", 2)}, "needs TCP timestamps")
	ds = Validate(resolve(t, profile("net.ipv4.tcp_timestamps: 1", "net.ipv4.tcp_tw_reuse: 1")), nil)
	check(t, ds, []brief{})
}

// TestPerInterfaceKeys: conf.all, conf.default and conf.IFACE share one
// entry, with systemd's dot/slash rule for eth0.100.
func TestPerInterfaceKeys(t *testing.T) {
	for _, name := range []string{"net.ipv4.conf.all.rp_filter", "net.ipv4.conf.default.rp_filter", "net.ipv4.conf.eth0/100.rp_filter", "net/ipv4/conf/eth0.100/rp_filter", "net.ipv6.conf.eth0.accept_ra"} {
		k := sysctl.MustKey(name)
		tun, ok := Lookup(k)
		if !ok || tun.Key != k || !strings.Contains(tun.Doc, "udev") {
			t.Errorf("Lookup(%s) = %v, %v", name, tun.Key, ok)
		}
	}
	ds := Validate(resolve(t, profile("net.ipv4.conf.eth0/100.rp_filter: 3")), nil)
	check(t, ds, []brief{valAt(SevWarning, "net.ipv4.conf.eth0/100.rp_filter", 1)}, "not a documented value")
	if _, ok := Lookup(sysctl.MustKey("net.ipv4.conf.eth0.no_such_key")); ok {
		t.Error("an unknown per-interface key is in the catalog")
	}
}

// TestAbsentIsNotAnError: a conntrack key without nf_conntrack loaded, and
// an ignore-failure key, are absent, not errors.
func TestAbsentIsNotAnError(t *testing.T) {
	k := fakeKernel(t, netns.Initial, hostFiles())
	ds := Validate(resolve(t, profile("net.netfilter.nf_conntrack_max: 262144", "net.netfilter.nf_conntrack_tcp_timeout_established: 3600")), k)
	check(t, ds, []brief{keyAt(SevNote, "net.netfilter.nf_conntrack_max", 1), keyAt(SevNote, "net.netfilter.nf_conntrack_tcp_timeout_established", 2)}, "modprobe nf_conntrack")
	ds = Validate(resolve(t, "name: p\nsettings:\n  net.ipv4.tcp_nope:\n    value: 1\n    ignore-failure: true\n"), k)
	if HasErrors(ds) {
		t.Errorf("ignore-failure key absent: %s", dump(ds))
	}
	if !AbsentOK(profiles.Setting{Key: sysctl.MustKey("net.netfilter.nf_conntrack_max")}) || AbsentOK(profiles.Setting{Key: sysctl.MustKey("net.core.somaxconn")}) {
		t.Error("AbsentOK wrong")
	}
}

// TestTunedConflicts reads a tuned configuration from temp dirs: the active
// profile includes a parent whose [sysctl] sets a key the profile sets.
func TestTunedConflicts(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, body string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("etc/active_profile", "mine\n")
	write("etc/tuned-main.conf", "# daemon\nreapply_sysctl = 0\n")
	write("etc/mine/tuned.conf", "[main]\ninclude=parent\n[sysctl]\nnet.ipv4.tcp_fin_timeout=15\n")
	write("lib/parent/tuned.conf", "[main]\nsummary=x\n\n[sysctl]\n# big queues\nnet.core.somaxconn=\"1024\"\n[vm]\ntransparent_hugepages=never\n")
	tu, err := ReadTuned(TunedPaths{Etc: filepath.Join(dir, "etc"), Lib: []string{filepath.Join(dir, "lib")}, Run: filepath.Join(dir, "run")})
	if err != nil {
		t.Fatal(err)
	}
	if !tu.Active() || tu.ReapplySysctl || tu.Running || len(tu.Keys()) != 2 {
		t.Fatalf("tuned = %+v", tu)
	}
	r := resolve(t, profile("net.core.somaxconn: 8192", "net.ipv4.tcp_syncookies: 1"))
	ds := TunedConflicts(r, tu)
	if len(ds) != 1 || ds[0].Key != "net.core.somaxconn" || !strings.Contains(ds[0].Message, "lib/parent/tuned.conf:6") ||
		!strings.Contains(ds[0].Message, "reapply_sysctl = 0") {
		t.Errorf("conflicts:\n%s", dump(ds))
	}
	// The same through Validate with the machine facts.
	ds = Validate(r, &Kernel{FS: sysctl.NewFS(t.TempDir()), Netns: netns.Initial, Tuned: tu})
	if !strings.Contains(dump(ds), "tuned profile \"mine\" also sets it") {
		t.Errorf("Validate does not report tuned:\n%s", dump(ds))
	}
	// No active profile: nothing.
	write("etc/active_profile", "\n")
	tu, err = ReadTuned(TunedPaths{Etc: filepath.Join(dir, "etc"), Lib: []string{filepath.Join(dir, "lib")}})
	if err != nil || tu.Active() || len(TunedConflicts(r, tu)) != 0 {
		t.Errorf("inactive tuned: %+v %v", tu, err)
	}
}

// TestPortHazards: a new port range over a listener, and over NodePorts
// when kubelet listens, warns with the reserved_ports line to add.
func TestPortHazards(t *testing.T) {
	k := fakeKernel(t, netns.Initial, hostFiles())
	k.Listeners = func() ([]Listener, error) {
		return []Listener{{Addr: "0.0.0.0:20000", Port: 20000, Process: "api", PID: 7}, {Addr: "[::]:10250", Port: 10250, Process: "kubelet", PID: 9}, {Addr: "0.0.0.0:22", Port: 22}}, nil
	}
	ds := Validate(resolve(t, profile(`net.ipv4.ip_local_port_range: "15000 65535"`)), k)
	out := dump(ds)
	for _, want := range []string{"port 20000 (api[7] on 0.0.0.0:20000)", `ip_local_reserved_ports: "20000"`, "kubelet runs here", `"20000,30000-32767"`} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	// Reserved already: no warning about them.
	ds = Validate(resolve(t, profile(`net.ipv4.ip_local_port_range: "15000 65535"`, `net.ipv4.ip_local_reserved_ports: "20000,30000-32767"`)), k)
	if strings.Contains(dump(ds), "not in ip_local_reserved_ports") || strings.Contains(dump(ds), "kubelet runs here") {
		t.Errorf("reserved ports still warned:\n%s", dump(ds))
	}
}

// TestAllowGrantPerProfile: a grant covers the keys of the profile that
// makes it, not those of a profile extending it.
func TestAllowGrantPerProfile(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.yaml")
	top := filepath.Join(dir, "top.yaml")
	if err := os.WriteFile(base, []byte("name: base\nallow: [kernel.core_pattern]\nsettings:\n  kernel.core_pattern: core\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(top, []byte("name: top\nextends: [base]\nsettings:\n  kernel.modprobe: /x\n  net.core.somaxconn: 8192\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l := &profiles.Loader{Files: []string{base, top}}
	r, err := l.Resolve("top")
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		// Files of a non-root user are untrusted: nothing is granted.
		t.Skip("grants need root-owned files")
	}
	ds := Validate(r, nil)
	var errs []string
	for _, d := range ds {
		if d.Severity == SevError {
			errs = append(errs, d.Key)
		}
	}
	if fmt.Sprint(errs) != "[kernel.modprobe]" {
		t.Errorf("errors for %v, want only kernel.modprobe (base's grant covers base's key only):\n%s", errs, dump(ds))
	}
}
