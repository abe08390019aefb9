// Added by tcptune's patch (third_party/patches): configEnvVar replaces what
// the regexp [^A-Z0-9_] replaced.

package cobra

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func TestConfigEnvVarEqualsRegexp(t *testing.T) {
	re := regexp.MustCompile(`[^A-Z0-9_]`)
	for _, name := range []string{"tcptune", "my-prog", "a.b c", "héllo", "x\xffy", "ÄÖÜ_09", "", "name/with/slashes"} {
		want := re.ReplaceAllString(strings.ToUpper(fmt.Sprintf("%s_%s", name, "SUFFIX")), "_")
		if got := configEnvVar(name, "SUFFIX"); got != want {
			t.Errorf("configEnvVar(%q) = %q, the regexp says %q", name, got, want)
		}
	}
}

// TestCompleteCmdFoundAfterFlags: initCompleteCmd skips building the
// completion command unless an argument names it. The command must still be
// found wherever Find would find it: after persistent flags and their
// values, by its alias, and not when no argument names it.
func TestCompleteCmdFoundAfterFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want bool
	}{
		{[]string{ShellCompRequestCmd, "sub", ""}, true},
		{[]string{"--pf", "v", ShellCompRequestCmd, "sub", ""}, true},
		{[]string{"--pf=v", ShellCompNoDescRequestCmd, ""}, true},
		{[]string{"sub"}, false},
		{[]string{"sub", "--pf", ShellCompRequestCmd + "x"}, false},
	} {
		root := &Command{Use: "root", Run: emptyRun}
		root.PersistentFlags().String("pf", "", "")
		root.AddCommand(&Command{Use: "sub", Run: emptyRun})
		root.initCompleteCmd(c.args)
		got := false
		for _, s := range root.Commands() {
			got = got || s.Name() == ShellCompRequestCmd
		}
		if got != c.want {
			t.Errorf("initCompleteCmd(%q): completion command present = %v, want %v", c.args, got, c.want)
		}
	}
	// Not called, it is not built at all (the patch's point).
	root := &Command{Use: "root", Run: emptyRun}
	root.AddCommand(&Command{Use: "sub", Run: emptyRun})
	args := []string{"sub", "x"}
	if n := testing.AllocsPerRun(10, func() { root.initCompleteCmd(args) }); n != 0 {
		t.Errorf("initCompleteCmd for a command line without %s allocates %v times, want 0", ShellCompRequestCmd, n)
	}
	// The patched skip must not change what completion prints.
	root = &Command{Use: "root", Run: emptyRun}
	root.PersistentFlags().String("pf", "", "")
	root.AddCommand(&Command{Use: "sub", Short: "a sub", Run: emptyRun})
	out, err := executeCommand(root, "--pf", "v", ShellCompNoDescRequestCmd, "s")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "sub\n:4\n") {
		t.Errorf("completion after a flag printed %q, want sub and directive 4", out)
	}
}
