package cli

import (
	"bytes"
	"strings"
	"testing"
)

// TestCobraBuiltinsThroughRun: cobra's own commands (help, completion, and
// __complete, which the installed shell completion scripts call) are not
// refused as unknown commands by Run's check, which runs before cobra adds
// them.
func TestCobraBuiltinsThroughRun(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"completion", "bash"}, "bash completion"},
		{[]string{"help", "diff"}, "tcptune diff"},
		{[]string{"__complete", "diff", ""}, "high-concurrency"},
		{[]string{"__completeNoDesc", "di"}, "diff"},
	} {
		var out, errb bytes.Buffer
		code := Run(tc.args, strings.NewReader(""), &out, &errb)
		if code != ExitOK || !strings.Contains(out.String(), tc.want) {
			t.Errorf("tcptune %s: exit %d, stdout %q..., stderr %q; want exit 0 and %q",
				strings.Join(tc.args, " "), code, first(out.String(), 200), errb.String(), tc.want)
		}
	}
}

func first(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
