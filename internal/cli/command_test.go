package cli

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcptune/tcptune/profiles"
)

// testGlobals are the shared flags' defaults with buffers as streams (the
// kubectl NewTestIOStreams idea): commands run without cobra or a process.
func testGlobals(t *testing.T, root string) (*Globals, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	var out, errb bytes.Buffer
	return &Globals{SysctlRoot: root, Output: "text", NetnsKind: "auto", ProfileDirs: []string{t.TempDir()},
		Stdout: &out, Stderr: &errb}, &out, &errb
}

func runDirect(c command, args ...string) error {
	if err := c.Complete(nil, args); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	return c.Run(context.Background())
}

// TestCommandsDirect drives commands' Complete / Validate / Run without
// cobra: Validate refuses before Run, Run prints to the injected streams.
func TestCommandsDirect(t *testing.T) {
	g, out, _ := testGlobals(t, filepath.Join(t.TempDir(), "none"))
	if err := runDirect(&showOptions{g: g}, "fail-fast"); err != nil || !strings.Contains(out.String(), "net.ipv4.tcp_syn_retries") {
		t.Fatalf("show: %v\n%s", err, out)
	}
	out.Reset()
	err := runDirect(&showOptions{g: g}, "no-such-profile")
	if !errors.Is(err, profiles.ErrNotFound) || out.Len() != 0 {
		t.Errorf("show of an unknown profile: %v, printed %q", err, out)
	}

	dir := t.TempDir()
	writeFakeRoot(t, filepath.Join(dir, "proc"), nil)
	g, out, _ = testGlobals(t, filepath.Join(dir, "proc"))
	o := &statusOptions{g: g, history: 10, tf: txFlags{StateDir: filepath.Join(dir, "state"), PersistDir: filepath.Join(dir, "sysctl.d")}}
	if err := runDirect(o); err != nil || !strings.Contains(out.String(), "(no transactions)") {
		t.Errorf("status on an empty state dir: %v\n%s", err, out)
	}
	if o.ao.StateDir != filepath.Join(dir, "state") || o.ao.FS == nil {
		t.Errorf("Complete did not build apply's options: %+v", o.ao)
	}

	g, _, _ = testGlobals(t, filepath.Join(dir, "proc"))
	a := &systemdAuditOptions{g: g, stateDir: dir, action: "bogus"}
	if err := runDirect(a); err == nil || !strings.Contains(err.Error(), `unknown --action "bogus"`) {
		t.Errorf("audit --action bogus: %v", err)
	}
}
