package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Every package linked into tcptune runs its package initialisers on every
// diff and apply, whether the command uses it or not. These tests keep the
// known costly ones out (measured with callgrind by `make bench`; see
// docs/bench-results.md).

// TestNoHeavyInitDependencies: packages whose init alone costs more than
// the rest of a diff are not linked.
func TestNoHeavyInitDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	heavy := map[string]string{
		// ~20 regexps compiled at init, 0.6 M instructions: doctor parses
		// its /proc/net files itself.
		"github.com/prometheus/procfs": "compiles ~20 regexps at start-up",
		// Any regexp that can run keeps unicode's category and script
		// tables, whose maps are built at start-up (~50 k instructions, 15%
		// of a hello-world): yaml's and cobra's are matched by hand in
		// third_party/, doctor's too.
		"regexp": "initialises unicode's tables (for any regexp it might compile)",
	}
	for _, p := range strings.Fields(string(out)) {
		if why, bad := heavy[p]; bad {
			t.Errorf("tcptune links %s, which %s on every run", p, why)
		}
	}
}

// TestNoPackageLevelCompile: no package of tcptune compiles a regexp or
// parses a template in a package-level variable (that runs at start-up of
// every command); compile on first use (sync.OnceValue) instead.
func TestNoPackageLevelCompile(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			ast.Inspect(g, func(n ast.Node) bool {
				if _, isFunc := n.(*ast.FuncLit); isFunc {
					return false // runs when called, not at init
				}
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if x, ok := sel.X.(*ast.Ident); ok {
					switch x.Name + "." + sel.Sel.Name {
					case "regexp.MustCompile", "regexp.Compile", "template.Must", "template.New":
						t.Errorf("%s: %s.%s in a package-level variable runs at start-up of every tcptune command; use sync.OnceValue",
							fset.Position(call.Pos()), x.Name, sel.Sel.Name)
					}
				}
				return true
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
