package cli

import (
	"slices"
	"testing"
)

// TestExtArgs: the flags execExt adds stay flags, before a "--" after which
// cobra takes every argument as positional.
func TestExtArgs(t *testing.T) {
	for _, c := range []struct{ args, want []string }{
		{[]string{"systemd", "install", "P"}, []string{"systemd", "install", "P", "--binary", "/usr/bin/tcptune"}},
		{[]string{"systemd", "install", "--", "P"}, []string{"systemd", "install", "--binary", "/usr/bin/tcptune", "--", "P"}},
		{nil, []string{"--binary", "/usr/bin/tcptune"}},
	} {
		args := slices.Clone(c.args)
		if got := extArgs(args, []string{"--binary", "/usr/bin/tcptune"}); !slices.Equal(got, c.want) {
			t.Errorf("extArgs(%q) = %q, want %q", c.args, got, c.want)
		}
		if !slices.Equal(args, c.args) {
			t.Errorf("extArgs changed its argument: %q", args)
		}
	}
	if got := extArgs([]string{"lab", "list"}, nil); !slices.Equal(got, []string{"lab", "list"}) {
		t.Errorf("extArgs without extra = %q", got)
	}
}
