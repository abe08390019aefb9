package apply

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
	"github.com/tcptune/tcptune/validate"
)

// TestApplyPolicyWhateverValidator: a key outside the write policy is
// refused before anything is touched, even with a Validator that accepts
// everything.
func TestApplyPolicyWhateverValidator(t *testing.T) {
	vals := maps.Clone(stock)
	vals["kernel.core_pattern"] = "core"
	e := newTxEnv(t, vals)
	e.opts.Validator = func(*profiles.Resolved) []validate.Diagnostic { return nil }
	before := tree(t, e.dir)
	r := profileFile(t, "name: p\nsettings:\n  net.core.somaxconn: 8192\n  kernel.core_pattern: \"|/tmp/x %p\"\n")
	_, err := Apply(context.Background(), r, e.opts)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "kernel.core_pattern") {
		t.Fatalf("err = %v, want ErrInvalid naming kernel.core_pattern", err)
	}
	if after := tree(t, e.dir); !maps.Equal(before, after) {
		t.Errorf("something was written for a refused key")
	}
}

// TestApplyIgnoreFailureAbsent: an absent key with ignore-failure is
// skipped; the others apply and are persisted.
func TestApplyIgnoreFailureAbsent(t *testing.T) {
	e := newTxEnv(t, stock)
	r := profileFile(t, "name: p\nsettings:\n  net.core.somaxconn: 8192\n  net.ipv4.tcp_nope:\n    value: 1\n    ignore-failure: true\n")
	res, err := Apply(context.Background(), r, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := e.fs.Read(sysctl.MustKey("net.core.somaxconn")); got != "8192" {
		t.Errorf("somaxconn = %q", got)
	}
	var absent bool
	for _, s := range res.Settings {
		absent = absent || (s.Key.String() == "net.ipv4.tcp_nope" && s.Action == ActionAbsent)
	}
	if !absent {
		t.Errorf("ignore-failure key not reported absent: %+v", res.Settings)
	}
	b, _ := os.ReadFile(filepath.Join(e.dir, "etc/sysctl.d", DefaultPersistName))
	if !strings.Contains(string(b), "net.core.somaxconn = 8192") || strings.Contains(string(b), "tcp_nope") {
		t.Errorf("persisted:\n%s", b)
	}
	// Without ignore-failure the same profile is refused.
	r = profileFile(t, "name: p\nsettings:\n  net.core.somaxconn: 4096\n  net.ipv4.tcp_nope: 1\n")
	if _, err := Apply(context.Background(), r, e.opts); !errors.Is(err, ErrInvalid) {
		t.Errorf("absent key without ignore-failure: %v", err)
	}
}

// TestApplyCancelledDuringValidation: a signal that arrives while a large
// profile is validated stops apply before the lock and the record.
func TestApplyCancelledDuringValidation(t *testing.T) {
	e := newTxEnv(t, stock)
	before := tree(t, e.dir)
	ctx, cancel := context.WithCancel(context.Background())
	e.opts.Validator = func(r *profiles.Resolved) []validate.Diagnostic { cancel(); return nil }
	_, err := Apply(ctx, builtin(t, profiles.HighConcurrency), e.opts)
	if err == nil || !strings.Contains(err.Error(), "interrupted before anything was written") {
		t.Fatalf("err = %v", err)
	}
	if after := tree(t, e.dir); !maps.Equal(before, after) {
		t.Errorf("files changed after an interrupted validation")
	}
}
