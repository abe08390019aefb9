package validate

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

func TestCatalogSortedAndComplete(t *testing.T) {
	cat := Catalog()
	if !sort.SliceIsSorted(cat, func(i, j int) bool { return cat[i].Key.Compare(cat[j].Key) < 0 }) {
		t.Error("Catalog() is not sorted by key")
	}
	for _, tu := range cat {
		name := tu.Key.String()
		if tu.Doc == "" || tu.Source == "" || tu.Unit == "" {
			t.Errorf("%s: missing doc, source or unit", name)
		}
		if tu.Scope != ScopeNetns && tu.Scope != ScopeGlobal {
			t.Errorf("%s: bad scope %q", name, tu.Scope)
		}
		if tu.Type == TypeVector && (tu.Fields < 2 || len(tu.FieldNames) != tu.Fields) {
			t.Errorf("%s: vector needs Fields and FieldNames", name)
		}
		if tu.Default == "" && tu.DefaultNote == "" && !tu.Removed() {
			t.Errorf("%s: no default and no note on how the kernel computes it", name)
		}
		if got, ok := Lookup(tu.Key); !ok || got.Key != tu.Key {
			t.Errorf("Lookup(%s) = %v, %v", name, got.Key, ok)
		}
	}
	// Catalog returns a copy.
	cat[0].Doc = "changed"
	if Catalog()[0].Doc == "changed" {
		t.Error("Catalog() exposes the internal slice")
	}
}

// The issue's list of keys: the built-ins' keys are checked separately in
// TestBuiltinsValidate.
func TestCatalogCoversIssueKeys(t *testing.T) {
	for _, name := range []string{
		"fs.file-max", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_max_tw_buckets", "net.ipv4.tcp_max_orphans",
		"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
		"net.ipv4.tcp_mem", "net.ipv4.ip_local_reserved_ports", "net.core.rmem_default", "net.core.wmem_default",
		"net.ipv4.tcp_syn_linear_timeouts", "net.ipv4.tcp_tw_recycle", "net.ipv4.tcp_syncookies",
		"net.ipv4.tcp_syn_retries", "net.ipv4.tcp_synack_retries", "net.ipv4.tcp_abort_on_overflow",
		"net.ipv4.tcp_tw_reuse", "net.core.somaxconn", "net.core.netdev_max_backlog", "net.core.netdev_budget",
		"net.ipv4.tcp_max_syn_backlog", "net.ipv4.ip_unprivileged_port_start", "net.core.optmem_max",
		"net.ipv4.tcp_congestion_control",
	} {
		if _, ok := Lookup(sysctl.MustKey(name)); !ok {
			t.Errorf("%s is not in the catalog", name)
		}
	}
}

// Every kernel default must pass tcptune's own checks: a catalog that
// rejects the kernel's defaults has a wrong bound.
func TestDefaultsValidate(t *testing.T) {
	var lines []string
	for _, tu := range Catalog() {
		if tu.Default != "" && !tu.Removed() {
			lines = append(lines, tu.Key.String()+": \""+string(tu.Default)+"\"")
		}
	}
	for _, d := range Validate(resolve(t, profile(lines...)), nil) {
		if d.Severity != SevNote {
			t.Errorf("default fails validation: %s", d)
		}
	}
}

func TestScopeOf(t *testing.T) {
	tests := map[string]Scope{
		"fs.file-max":                      ScopeGlobal,
		"net.core.rmem_max":                ScopeGlobal, // read-only in child netns since 6.11, still host-wide
		"net.core.wmem_max":                ScopeGlobal,
		"net.core.netdev_max_backlog":      ScopeGlobal,
		"net.ipv4.tcp_mem":                 ScopeGlobal,
		"net.ipv4.tcp_max_orphans":         ScopeGlobal,
		"net.core.somaxconn":               ScopeNetns,
		"net.ipv4.tcp_max_tw_buckets":      ScopeNetns,
		"net.core.optmem_max":              ScopeNetns,
		"net.ipv6.conf.all.forwarding":     ScopeNetns, // outside the catalog, under net.
		"net.ipv4.conf.eth0/100.rp_filter": ScopeNetns,
		"kernel.pid_max":                   ScopeGlobal, // outside the catalog, not net.
		"vm.swappiness":                    ScopeGlobal,
	}
	for name, want := range tests {
		if got := ScopeOf(sysctl.MustKey(name)); got != want {
			t.Errorf("ScopeOf(%s) = %s, want %s", name, got, want)
		}
	}
}

func TestWriteCatalog(t *testing.T) {
	var text, md bytes.Buffer
	if err := WriteCatalog(&text); err != nil {
		t.Fatal(err)
	}
	if err := WriteCatalogMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(text.String()), "\n")
	if len(lines) != len(Catalog())+1 || !strings.HasPrefix(lines[0], "KEY") {
		t.Fatalf("text table: %d lines, first %q", len(lines), lines[0])
	}
	wantRows := map[string][]string{
		"net.ipv4.ip_local_port_range": {"vector", "2 integers (low high), each 1..65535", "32768 60999", "ports", "netns"},
		"net.ipv4.tcp_tw_recycle":      {"removed in Linux 4.12"},
		"net.core.rmem_max":            {"2304..2147483647", "212992", "global (host-wide)"},
		"net.ipv4.tcp_mem":             {"(computed at boot)", "pages"},
	}
	for key, cells := range wantRows {
		found := false
		for _, l := range lines {
			if strings.HasPrefix(l, key+" ") {
				found = true
				for _, c := range cells {
					if !strings.Contains(l, c) {
						t.Errorf("row %s lacks %q: %q", key, c, l)
					}
				}
			}
		}
		if !found {
			t.Errorf("no row for %s", key)
		}
	}
	mdLines := strings.Split(strings.TrimSpace(md.String()), "\n")
	if len(mdLines) != len(Catalog())+2 || !strings.Contains(md.String(), "| `net.core.somaxconn` | int | 0..2147483647 | 4096 | connections | netns |") {
		t.Errorf("markdown table:\n%s", md.String())
	}
}

func TestSuggest(t *testing.T) {
	kernel := []sysctl.Key{sysctl.MustKey("net.ipv4.tcp_ecn"), sysctl.MustKey("net.ipv4.tcp_sack")}
	tests := []struct {
		name   string
		kernel []sysctl.Key
		want   []string
	}{
		{"net.ipv4.tcp_tw_reuze", nil, []string{"net.ipv4.tcp_tw_reuse"}},
		{"net.core.tcp_syncookies", nil, []string{"net.ipv4.tcp_syncookies"}}, // right name, wrong prefix
		{"net/core/somaxcon", nil, []string{"net.core.somaxconn"}},
		{"NET.CORE.SOMAXCONN", nil, []string{"net.core.somaxconn"}},
		{"net.ipv4.tcp_tw_recycle", nil, []string{"net.ipv4.tcp_tw_reuse"}},            // removed keys are never suggested
		{"net.ipv4.tcp_ecm", kernel, []string{"net.ipv4.tcp_ecn", "net.ipv4.tcp_mem"}}, // best first
		{"net.ipv4.tcp_ecm", nil, []string{"net.ipv4.tcp_mem"}},
		{"net.core.somaxconn", nil, nil}, // itself is not a suggestion
		{"completely.unrelated.name", nil, nil},
		{"", nil, nil},
	}
	for _, tt := range tests {
		if got := Suggest(tt.name, tt.kernel...); !cmp.Equal(got, tt.want) {
			t.Errorf("Suggest(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"abc", "", 3}, {"kitten", "sitting", 3}, {"reuse", "reuze", 1}, {"ab", "ba", 2}} {
		if got := distance(c.a, c.b); got != c.d {
			t.Errorf("distance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
}

// TestPortsEqualBitmap: the interval arithmetic of overlap and
// canonicalPorts answers what a 65536-port bitmap (the kernel's form, and
// what these functions used before) answers, on random lists that overlap,
// touch and nest, including ports 0 and 65535.
func TestPortsEqualBitmap(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		var rs []portRange
		for j := rnd.IntN(6); j > 0; j-- {
			lo := rnd.IntN(65536)
			if rnd.IntN(4) == 0 {
				lo = []int{0, 65535, 9000, 9001}[rnd.IntN(4)]
			}
			hi := min(65535, lo+rnd.IntN(3)*rnd.IntN(2000))
			rs = append(rs, portRange{lo, hi})
		}
		var in [65536]bool
		for _, r := range rs {
			for p := r.Lo; p <= r.Hi; p++ {
				in[p] = true
			}
		}
		var parts []string
		for p := 0; p < len(in); p++ {
			if !in[p] {
				continue
			}
			q := p
			for q+1 < len(in) && in[q+1] {
				q++
			}
			if q == p {
				parts = append(parts, strconv.Itoa(p))
			} else {
				parts = append(parts, fmt.Sprintf("%d-%d", p, q))
			}
			p = q
		}
		if got, want := canonicalPorts(rs), strings.Join(parts, ","); got != want {
			t.Fatalf("canonicalPorts(%v) = %q, bitmap says %q", rs, got, want)
		}
		lo := rnd.IntN(65536)
		hi := min(65535, lo+rnd.IntN(30000))
		want := 0
		for p := lo; p <= hi; p++ {
			if in[p] {
				want++
			}
		}
		if got := overlap(rs, lo, hi); got != want {
			t.Fatalf("overlap(%v, %d, %d) = %d, bitmap says %d", rs, lo, hi, got, want)
		}
	}
}

func TestPorts(t *testing.T) {
	rs, err := parsePorts("9000-9100,8080,9050-9200,0")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := canonicalPorts(rs), "0,8080,9000-9200"; got != want {
		t.Errorf("canonical = %q, want %q", got, want)
	}
	if got := overlap(rs, 9100, 10000); got != 101 {
		t.Errorf("overlap = %d, want 101", got)
	}
	for _, bad := range []string{"8080,", "a", "9100-9000", "65536", "1-", "80 81"} {
		if _, err := parsePorts(bad); err == nil {
			t.Errorf("parsePorts(%q) accepted", bad)
		}
	}
}

// Every built-in profile validates without errors and uses only catalog keys.
func TestBuiltinsValidate(t *testing.T) {
	bs, err := profiles.Builtins()
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) == 0 {
		t.Fatal("no built-in profiles")
	}
	var l profiles.Loader
	for _, p := range bs {
		for _, s := range p.Settings {
			tu, ok := Lookup(s.Key)
			if !ok || tu.Removed() {
				t.Errorf("%s: %s is not a live catalog key", p.File, s.Key)
			}
		}
		r, err := l.Resolve(p.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range Validate(r, nil) {
			if d.Severity == SevError {
				t.Errorf("%s: %s", p.Name, d)
			}
		}
	}
}

// Each catalog entry is in the shard Lookup asks for its name: an entry in
// the wrong one would be unknown to validate.
func TestCatalogShards(t *testing.T) {
	for name := range catalogMain() {
		if extraName(name) {
			t.Errorf("%s is in the main shard but extraName claims it: move it to extraTunables", name)
		}
	}
	for name := range catalogExtra() {
		if !extraName(name) {
			t.Errorf("%s is in the extra shard but extraName does not claim it: move it out of extraTunables", name)
		}
	}
	if len(catalogExtra()) == 0 || len(catalogMain()) == 0 {
		t.Errorf("a shard is empty: main %d, extra %d", len(catalogMain()), len(catalogExtra()))
	}
	for _, tun := range Catalog() {
		if got, ok := Lookup(tun.Key); !ok || got.Key != tun.Key {
			t.Errorf("Lookup(%s) = %v, %v", tun.Key, got.Key, ok)
		}
	}
}
