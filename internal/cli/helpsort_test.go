package cli

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// Runs sort no flags (unsortedFlags, for speed), but help still lists them
// sorted, as pflag does by default: in every section of every command's help.
func TestHelpFlagsSorted(t *testing.T) {
	for _, args := range [][]string{{"diff", "--help"}, {"help", "apply"}, {"apply", "-h"}, {"doctor", "--help"}, {"--help"}} {
		var out, errb bytes.Buffer
		if code := Run(args, nil, &out, &errb); code != ExitOK {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		var names []string
		check := func() {
			if len(names) < 2 {
				t.Errorf("%v: a flag section with %d flags; help output changed?\n%s", args, len(names), out.String())
			} else if !slices.IsSorted(names) {
				t.Errorf("%v: flags not sorted: %v", args, names)
			}
			names = nil
		}
		sections := 0
		for _, line := range strings.Split(out.String(), "\n") {
			switch {
			case strings.HasSuffix(line, "Flags:"):
				if names != nil {
					check()
				}
				names, sections = []string{}, sections+1
			case names != nil && strings.HasPrefix(strings.TrimSpace(line), "-"):
				f := strings.Fields(line)
				name := f[0]
				if strings.HasSuffix(name, ",") && len(f) > 1 { // "-o, --output"
					name = f[1]
				}
				names = append(names, strings.TrimPrefix(name, "--"))
			case names != nil && strings.TrimSpace(line) == "":
				check()
				names = nil
			}
		}
		if names != nil {
			check()
		}
		if sections == 0 {
			t.Errorf("%v: no flag section in help:\n%s", args, out.String())
		}
	}
}
