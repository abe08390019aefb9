//go:build tcptune_ext

package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestLabList(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Run([]string{"lab", "list", "-o", "json"}, nil, &out, &errb); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var scs []struct{ Name, Profile string }
	if err := json.Unmarshal(out.Bytes(), &scs); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range scs {
		got[s.Name] = s.Profile
	}
	want := map[string]string{"burst-resets": "high-concurrency", "burst-resets-nginx": "high-concurrency",
		"slow-failure": "fail-fast", "syn-flood": "syn-flood", "port-exhaustion": "high-concurrency"}
	for n, p := range want {
		if got[n] != p {
			t.Errorf("scenario %s: profile %q, want %q (all: %v)", n, got[n], p, got)
		}
	}
}

func TestLabRunRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"lab", "run", "no-such-scenario"}, `unknown lab scenario "no-such-scenario"`},
		{[]string{"lab", "run", "burst-resets", "--profile", "no-such-profile"}, "no-such-profile"},
		{[]string{"lab", "run", "burst-resets", "--runs", "0"}, "invalid --clients"},
	} {
		var out, errb bytes.Buffer
		code := Run(tc.args, nil, &out, &errb)
		if code != ExitError || !strings.Contains(errb.String(), "tcptune: error: ") || !strings.Contains(errb.String(), tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", tc.args, code, errb.String(), tc.msg)
		}
		if !strings.Contains(errb.String(), "tcptune: hint: ") {
			t.Errorf("%v: no hint in %q", tc.args, errb.String())
		}
	}
}
