package profiles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcptune/tcptune/sysctl"
)

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// values returns key -> value of a resolved profile.
func values(r *Resolved) map[string]string {
	m := map[string]string{}
	for _, s := range r.Settings {
		m[s.Key.String()] = s.Value.String() + " (" + string(s.Op) + ", " + s.Profile + ")"
	}
	return m
}

func TestBuiltins(t *testing.T) {
	bs, err := Builtins()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range bs {
		names = append(names, p.Name)
		if p.Description == "" {
			t.Errorf("%s has no description", p.Name)
		}
		for _, s := range p.Settings {
			if s.Reason == "" {
				t.Errorf("%s: %s has no reason", p.Name, s.Key)
			}
		}
	}
	if diff := cmp.Diff([]string{FailFast, HighConcurrency, SynFlood}, names); diff != "" {
		t.Errorf("built-ins (-want +got):\n%s", diff)
	}
}

func TestResolveComposition(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "base.yaml", `settings:
  net.core.somaxconn: {value: 1024, op: at-least}
  net.ipv4.tcp_rmem: {value: "4096 131072 33554432", op: at-least}
  net.ipv4.tcp_syn_retries: {value: 2, op: at-most}
  net.ipv4.tcp_fin_timeout: 30
`)
	writeFile(t, dir, "web.yaml", `extends: [base]
settings:
  net.core.somaxconn: {value: 4096, op: at-least}
  net.ipv4.tcp_fin_timeout: 20
`)
	l := &Loader{Dirs: []string{dir}}
	r, err := l.Resolve("web", "high-concurrency", "fail-fast")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"base", "web", "high-concurrency", "fail-fast"}, r.Chain); diff != "" {
		t.Errorf("chain (-want +got):\n%s", diff)
	}
	got := values(r)
	want := map[string]string{
		// two at-least: the larger (high-concurrency's 65535) is kept.
		"net.core.somaxconn": "65535 (at-least, high-concurrency)",
		// vectors compare field by field: base's larger max survives, so the
		// whole value (and its provenance) is base's.
		"net.ipv4.tcp_rmem": "4096 131072 33554432 (at-least, base)",
		// two at-most: the smaller (base's 2) is kept, with base's provenance.
		"net.ipv4.tcp_syn_retries": "2 (at-most, base)",
		// exact vs at-most: the later wins.
		"net.ipv4.tcp_fin_timeout": "15 (at-most, fail-fast)",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %q, want %q", k, got[k], w)
		}
	}
	var res []string
	for _, o := range r.Overrides {
		res = append(res, o.Key.String()+": "+o.From+" -> "+o.By+": "+o.Resolution)
	}
	for _, w := range []string{
		"net.core.somaxconn: base -> web: larger kept",
		"net.ipv4.tcp_fin_timeout: base -> web: later wins",
		"net.ipv4.tcp_fin_timeout: web -> fail-fast: later wins",
		"net.ipv4.tcp_syn_retries: base -> fail-fast: smaller kept",
	} {
		if !strings.Contains(strings.Join(res, "\n"), w) {
			t.Errorf("overrides lack %q; have:\n%s", w, strings.Join(res, "\n"))
		}
	}
	for i := 1; i < len(r.Settings); i++ {
		if r.Settings[i-1].Key.Compare(r.Settings[i].Key) >= 0 {
			t.Errorf("settings not sorted at %d", i)
		}
	}
}

func TestResolveErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.yaml", "extends: [b]\n")
	writeFile(t, dir, "b.yaml", "extends: [a]\n")
	writeFile(t, dir, "c.yaml", "extends: [nosuch]\n")
	l := &Loader{Dirs: []string{dir}}
	for ref, want := range map[string]string{
		"a":        "extends itself through a -> b -> a",
		"c":        `extends "nosuch"`,
		"nosuch":   `profile not found: "nosuch"`,
		dir + "/z": "cannot read profile",
	} {
		if _, err := l.Resolve(ref); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Resolve(%s) = %v, want %q", ref, err, want)
		}
	}
	if _, err := l.Resolve(); err == nil {
		t.Error("Resolve() with no profile succeeded")
	}
}

func TestShadowingAndFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "high-concurrency.yaml", "description: ours\nsettings:\n  net.core.somaxconn: 1024\n")
	writeFile(t, dir, "notes.txt", "not a profile")
	other := t.TempDir()
	f := writeFile(t, other, "extra.yaml", "name: extra\nextends: high-concurrency\nsettings:\n  net.ipv4.tcp_fin_timeout: 10\n")
	l := &Loader{Dirs: []string{dir, filepath.Join(dir, "missing")}, Files: []string{f}}
	all, err := l.All()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*Profile{}
	for _, p := range all {
		byName[p.Name] = p
	}
	hc := byName["high-concurrency"]
	if hc == nil || hc.Origin != OriginUser || hc.Shadows != "builtin/high-concurrency.yaml" {
		t.Fatalf("high-concurrency = %+v, want the user profile shadowing the built-in", hc)
	}
	if byName["extra"] == nil || byName["extra"].Origin != OriginFile {
		t.Errorf("extra from -f missing: %+v", byName["extra"])
	}
	r, err := l.Resolve("extra")
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := r.Setting(sysctl.MustKey("net.core.somaxconn")); s.Value != "1024" {
		t.Errorf("extends used the shadowed built-in: somaxconn = %q", s.Value)
	}
	// A path reference reads the file directly.
	r, err = (&Loader{}).Resolve(f)
	if err != nil || r.Profiles[0] != "extra" {
		t.Fatalf("Resolve(path) = %+v, %v", r, err)
	}
	// A broken user profile is an error naming the file.
	writeFile(t, dir, "broken.yaml", "settings:\n  net.core.somaxconn: [\n")
	if _, err := (&Loader{Dirs: []string{dir}}).All(); err == nil || !strings.Contains(err.Error(), "broken.yaml:") {
		t.Errorf("broken user profile: %v", err)
	}
}
