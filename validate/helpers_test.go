package validate

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcptune/tcptune/internal/fakeroot"
	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

const testFile = "p.yaml"

// resolve decodes an inline profile (so positions are real) and resolves
// it as the only profile.
func resolve(t *testing.T, yaml string) *profiles.Resolved {
	t.Helper()
	p, err := profiles.Decode(testFile, []byte(yaml), profiles.OriginFile, "p")
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	r := &profiles.Resolved{Profiles: []string{p.Name}, Chain: []string{p.Name}, Sources: []*profiles.Profile{p}, Settings: p.Settings}
	sort.Slice(r.Settings, func(i, j int) bool { return r.Settings[i].Key.Compare(r.Settings[j].Key) < 0 })
	return r
}

// profile builds YAML whose settings are one per line starting at line 3,
// "  key: value", so positions are easy to state: see keyAt and valAt.
func profile(lines ...string) string {
	return "name: p\nsettings:\n  " + strings.Join(lines, "\n  ") + "\n"
}

// brief is what the table tests compare: who, where, how bad.
type brief struct {
	Sev  Severity
	Key  string
	Line int
	Col  int
}

func briefs(ds []Diagnostic) []brief {
	out := []brief{}
	for _, d := range ds {
		out = append(out, brief{d.Severity, d.Key, d.Pos.Line, d.Pos.Column})
	}
	return out
}

// keyAt is the position of the key on settings line n (1-based); valAt the
// position of its value.
func keyAt(sev Severity, key string, n int) brief { return brief{sev, key, n + 2, 3} }
func valAt(sev Severity, key string, n int) brief {
	return brief{sev, key, n + 2, 3 + len(key) + 2}
}

// check compares diagnostics with want and checks that each text in
// contains appears in some message or hint.
func check(t *testing.T, ds []Diagnostic, want []brief, contains ...string) {
	t.Helper()
	if diff := cmp.Diff(want, briefs(ds)); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s\nall:\n%s", diff, dump(ds))
	}
	for _, c := range contains {
		found := false
		for _, d := range ds {
			if strings.Contains(d.Message, c) || strings.Contains(d.Hint, c) {
				found = true
			}
		}
		if !found {
			t.Errorf("no diagnostic mentions %q:\n%s", c, dump(ds))
		}
	}
	for _, d := range ds {
		if d.Pos.File != testFile || d.Profile != "p" || d.Message == "" {
			t.Errorf("diagnostic lacks file, profile or message: %+v", d)
		}
	}
}

func dump(ds []Diagnostic) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.String() + "\n")
	}
	return b.String()
}

// fakeKernel builds a sysctl root in a temp dir: files maps dotted keys to
// values; keys in readOnly get mode 0444.
func fakeKernel(t *testing.T, netns netns.Kind, files map[string]string, readOnly ...string) *Kernel {
	t.Helper()
	root := fakeroot.New(t, files)
	for _, name := range readOnly {
		p := filepath.Join(root, filepath.FromSlash(sysctl.MustKey(name).Path()))
		if err := os.Chmod(p, 0o444); err != nil {
			t.Fatal(err)
		}
	}
	return &Kernel{FS: sysctl.NewFS(root), Netns: netns}
}
