package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcptune/tcptune/apply"
	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

// TestErrorTable: each error class, wrapped the way the code wraps it,
// gets its row's exit status and hint; a command's hint and a domain
// error's own hint win over the table's.
func TestErrorTable(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("apply: %w", fmt.Errorf("transaction: %w", err)) }
	cases := []struct {
		class string
		err   error
		code  int
		hint  string // substring
	}{
		{"usage", usageError{err: errors.New(`unknown flag: --bogus`), path: "tcptune apply"}, 1, "see 'tcptune apply --help'"},
		{"restore-incomplete", &apply.TxError{Transaction: "000002-X", Err: errors.New("EINVAL"), RestoreErr: errors.New("EBUSY")}, 1, "tcptune rollback --to 000002-X"},
		{"restore-incomplete", wrap(fmt.Errorf("%w: %w", apply.ErrRestore, errors.New("x"))), 1, "run 'tcptune rollback' again"},
		{"not-recorded", wrap(apply.ErrNotRecorded), 1, "tcptune reconcile"},
		{"interrupted", wrap(fmt.Errorf("%w while waiting for the lock: %w", apply.ErrInterrupted, errors.New("interrupt signal received"))), 1, "interrupted"},
		{"interrupted", wrap(context.Canceled), 1, "interrupted"},
		{"locked", wrap(apply.ErrLocked), 1, "--lock-wait"},
		{"crashed", wrap(apply.ErrCrashed), 1, "tcptune rollback --resolve"},
		{"corrupt-record", wrap(fmt.Errorf("%w: %w: transaction 000001-X cannot be read", apply.ErrCrashed, apply.ErrCorruptRecord)), 1, "rollback --baseline"},
		{"other", &apply.TxError{Transaction: "000003-X", Err: errors.New("EINVAL"), Restored: true, RecordErr: errors.New("ENOSPC")}, 1, "free space in --state-dir"},
		{"stale-plan", wrap(&apply.StaleError{Profiles: []string{"web"}, Reason: "r"}), 1, "tcptune diff web --out FILE"},
		{"plan-profile-changed", wrap(&apply.ProfileChangedError{Profiles: []string{"web"}}), 1, "tcptune diff web --out FILE"},
		{"plan-file", wrap(apply.ErrPlanFile), 1, "tcptune diff PROFILES --out FILE"},
		{"overridden", wrap(apply.ErrOverridden), 1, "--strict-persist"},
		{"other-target", wrap(&apply.OtherTargetError{Transaction: "000001-X", What: "was applied in net:[1]"}), 1, "tcptune rollback --netns"},
		{"other-target", &apply.OtherTargetError{Transaction: "000001-X", EarlierBoot: true}, 1, "rollback --resolve"},
		{"no-transaction", wrap(apply.ErrNoTransaction), 1, "tcptune status"},
		{"invalid", wrap(apply.ErrInvalid), 1, "tcptune validate --kernel"},
		{"profile-not-found", wrap(profiles.ErrNotFound), 1, "tcptune list"},
		{"profile-invalid", wrap(profiles.ErrDecode), 1, "tcptune validate FILE"},
		{"netns-permission", wrap(netns.ErrPermission), 1, "root"},
		{"permission", wrap(&sysctl.Error{Op: "write", Class: sysctl.ErrPermission, Err: errors.New("EACCES")}), 1, "run as root"},
		{"read-only", wrap(&sysctl.Error{Op: "write", Class: sysctl.ErrReadOnly, Err: errors.New("EROFS")}), 1, "read-only"},
		{"no-sysctl-root", wrap(sysctl.ErrNoRoot), 1, "--sysctl-root"},
		{"other", errors.New("something else"), 1, ""},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		seen[c.class] = true
		if got := classify(c.err).name; got != c.class {
			t.Errorf("%v: class %s, want %s", c.err, got, c.class)
		}
		code, hint := explain(c.err)
		if code != c.code || (c.hint == "" && hint != "") || !strings.Contains(hint, c.hint) {
			t.Errorf("%s (%v): exit %d hint %q, want %d and a hint with %q", c.class, c.err, code, hint, c.code, c.hint)
		}
	}
	for _, row := range errorTable {
		if !seen[row.name] {
			t.Errorf("table row %s has no test case", row.name)
		}
	}

	// The command's hint (it knows the arguments) wins.
	if _, hint := explain(withHint(wrap(apply.ErrLocked), "try %s", "this")); hint != "try this" {
		t.Errorf("command hint lost: %q", hint)
	}
	// Drift and findings are exit 2 and print nothing.
	var out bytes.Buffer
	if code := report(&out, withExit(ExitChanges)); code != ExitChanges || out.Len() != 0 {
		t.Errorf("exitError: %d %q", code, out.String())
	}
	// One error line, one hint line, details one per line before them.
	out.Reset()
	report(&out, detailed{errors.New("web: profile cannot be applied here: 2 problems\n(see above)")})
	want := "web.yaml:3:3: error: one\nweb.yaml:4:3: error: two\ntcptune: error: web: profile cannot be applied here: 2 problems; (see above)\n"
	if out.String() != want {
		t.Errorf("report =\n%s\nwant\n%s", out.String(), want)
	}
}

type detailed struct{ error }

func (detailed) Details() []string {
	return []string{"web.yaml:3:3: error: one", "web.yaml:4:3: error: two"}
}

// TestUsageErrorsThroughRun: cobra's refusals (unknown command, unknown
// flag, a bad flag value, the wrong arguments) are usage errors by
// construction, each one error line and a hint naming the command's help.
func TestUsageErrorsThroughRun(t *testing.T) {
	for _, c := range []struct {
		args      []string
		err, hint string
	}{
		{[]string{"bogus"}, `unknown command "bogus" for "tcptune"`, "see 'tcptune --help'"},
		{[]string{"apply", "--bogus"}, "unknown flag: --bogus", "see 'tcptune apply --help'"},
		{[]string{"rollback", "--lock-wait", "soon"}, `invalid argument "soon" for "--lock-wait"`, "see 'tcptune rollback --help'"},
		{[]string{"apply"}, "tcptune apply needs a profile: P... or -f FILE", "run 'tcptune list' to see the profiles, or pass a file with -f FILE"}, // its own hint wins
		{[]string{"systemd", "audit", "x"}, `unknown command "x" for "tcptune systemd audit"`, "see 'tcptune systemd audit --help'"},
	} {
		code, out, errs := run(t, c.args...)
		lines := strings.Split(strings.TrimRight(errs, "\n"), "\n")
		if code != ExitError || out != "" || len(lines) != 2 ||
			!strings.HasPrefix(lines[0], "tcptune: error: ") || !strings.Contains(lines[0], c.err) ||
			lines[1] != "tcptune: hint: "+c.hint {
			t.Errorf("%v: exit %d, stdout %q, stderr:\n%s", c.args, code, out, errs)
		}
	}
}

// TestProfileProblemsOnePerLine: apply prints each of a profile's problems
// on its own line, then one error line and one hint line (not one line with
// every diagnostic and its inline hint joined).
func TestProfileProblemsOnePerLine(t *testing.T) {
	dir := t.TempDir()
	writeFakeRoot(t, filepath.Join(dir, "proc"), nil)
	prof := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(prof, []byte(`name: bad
description: three problems
settings:
  net.core.somaxconn:
    value: -5
  net.ipv4.tcp_syn_retries:
    value: 1000
  net.ipv4.tcp_keepalive_probes:
    value: 100000
`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := run(t, append([]string{"apply", prof}, append(txDirs(dir), persistFlags(dir)...)...)...)
	var problems, errLines, hints int
	for _, l := range strings.Split(strings.TrimRight(errs, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, prof+":") && strings.Contains(l, ": error: "):
			problems++
		case strings.HasPrefix(l, "tcptune: error: "):
			errLines++
			if !strings.Contains(l, "3 problems (net.core.somaxconn, net.ipv4.tcp_syn_retries, net.ipv4.tcp_keepalive_probes)") || strings.Contains(l, "hint") {
				t.Errorf("error line: %s", l)
			}
		case strings.HasPrefix(l, "tcptune: hint: "):
			hints++
		}
	}
	if code != ExitError || problems != 3 || errLines != 1 || hints != 1 {
		t.Errorf("exit %d, %d problem lines, %d error lines, %d hints; stderr:\n%s", code, problems, errLines, hints, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "state", "tx")); err == nil {
		if ents, _ := os.ReadDir(filepath.Join(dir, "state", "tx")); len(ents) > 0 {
			t.Errorf("a refused profile left a transaction: %v", ents)
		}
	}
}
