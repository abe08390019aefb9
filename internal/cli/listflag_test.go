package cli

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
)

// listFlag answers what pflag's StringSlice and StringArray answer: the
// values after each sequence of uses, the default text help prints, and the
// type name, so replacing them changed no command line and no help.
func TestListFlagIsPflags(t *testing.T) {
	defs := [][]string{nil, {"/etc/tcptune/profiles.d"}, {"a", "b c"}, {"x,y", `q"uote`}, {" lead"}}
	uses := [][]string{nil, {"a"}, {"a,b"}, {"a", "b,c"}, {`"x,y",z`}, {""}, {"a", ""}}
	for _, split := range []bool{true, false} {
		for _, def := range defs {
			for _, use := range uses {
				var mine, theirs []string
				fm := pflag.NewFlagSet("m", pflag.ContinueOnError)
				ft := pflag.NewFlagSet("t", pflag.ContinueOnError)
				stringListVar(fm, &mine, "f", "", def, split, "")
				if split {
					ft.StringSliceVar(&theirs, "f", def, "")
				} else {
					ft.StringArrayVar(&theirs, "f", def, "")
				}
				if m, p := fm.Lookup("f"), ft.Lookup("f"); m.Value.Type() != p.Value.Type() ||
					(m.DefValue != p.DefValue && !(len(def) == 0 && m.DefValue == "" && p.DefValue == "[]")) {
					t.Errorf("split %v, default %q: type %s, default %q; pflag: %s, %q", split, def, m.Value.Type(), m.DefValue, p.Value.Type(), p.DefValue)
				}
				for _, u := range use {
					em, et := fm.Set("f", u), ft.Set("f", u)
					if (em == nil) != (et == nil) {
						t.Errorf("split %v, Set(%q): %v; pflag: %v", split, u, em, et)
					}
				}
				if d := cmp.Diff(theirs, mine); d != "" {
					t.Errorf("split %v, default %q, uses %q (-pflag +listFlag):\n%s", split, def, use, d)
				}
				if m, p := fm.Lookup("f").Value.String(), ft.Lookup("f").Value.String(); m != p {
					t.Errorf("split %v, default %q, uses %q: String %q; pflag %q", split, def, use, m, p)
				}
			}
		}
	}
}
