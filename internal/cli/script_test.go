package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/tcptune/tcptune/internal/fakeroot"
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

// cmdFakeRoot DIR [KEY=VALUE...]: write a fake sysctl tree with stock values,
// overridden by the arguments. A KEY=- removes the key.
func cmdFakeRoot(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: fakeroot DIR [KEY=VALUE...]")
	}
	root := ts.MkAbs(args[0])
	vals := fakeroot.Stock()
	for _, a := range args[1:] {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			ts.Fatalf("fakeroot: %q is not KEY=VALUE", a)
		}
		vals[k] = v
	}
	for k, v := range vals {
		if v == "-" {
			os.Remove(filepath.Join(root, sysctl.MustKey(k).Path()))
			delete(vals, k)
		}
	}
	ts.Check(fakeroot.Write(root, vals))
}
