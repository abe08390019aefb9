package profiles

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcptune/tcptune/sysctl"
)

// TestBuiltinsGeneratedEqualDecoded: the built-ins tcptune uses (generated
// Go values, builtin_gen.go) are exactly what the strict decoder makes of
// builtin/*.yaml, positions included.
func TestBuiltinsGeneratedEqualDecoded(t *testing.T) {
	files, err := filepath.Glob("builtin/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no built-in YAML files: %v", err)
	}
	var want []*Profile
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Decode(filepath.ToSlash(f), data, OriginBuiltin, "")
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, p)
	}
	sort.Slice(want, func(i, j int) bool { return want[i].Name < want[j].Name })
	got, err := Builtins()
	if err != nil {
		t.Fatal(err)
	}
	keys := cmp.Comparer(func(a, b sysctl.Key) bool { return a == b })
	if diff := cmp.Diff(want, got, keys); diff != "" {
		t.Errorf("generated built-ins differ from the YAML (-decoded +generated); run `go generate ./profiles`:\n%s", diff)
	}
}

// TestBuiltinsFreshCopies: a caller changing what Builtins returned does not
// change the next call's result.
func TestBuiltinsFreshCopies(t *testing.T) {
	a, _ := Builtins()
	a[0].Name = "changed"
	a[0].Settings[0].Value = "changed"
	b, _ := Builtins()
	if b[0].Name == "changed" || b[0].Settings[0].Value == "changed" {
		t.Fatal("Builtins returned shared values")
	}
}
