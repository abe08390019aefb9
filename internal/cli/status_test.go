package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestStatusAuditTrail: without journald, status shows the audit records of
// an apply and a rollback, and the reconcile state is null when no loop ran.
func TestStatusAuditTrail(t *testing.T) {
	t.Setenv("TCPTUNE_NO_JOURNAL", "1")
	dir := t.TempDir()
	writeFakeRoot(t, filepath.Join(dir, "proc"), nil)
	base := append(txDirs(dir), persistFlags(dir)...)
	if code, _, errs := run(t, append([]string{"apply", "syn-flood"}, base...)...); code != 0 {
		t.Fatalf("apply exit %d: %s", code, errs)
	}
	if code, _, errs := run(t, append([]string{"rollback"}, base...)...); code != 0 {
		t.Fatalf("rollback exit %d: %s", code, errs)
	}
	code, out, errs := run(t, append([]string{"status", "-o", "json"}, base...)...)
	if code != 0 {
		t.Fatalf("status exit %d: %s", code, errs)
	}
	var st struct {
		Reconcile *json.RawMessage `json:"reconcile"`
		Audit     []struct {
			Action, Key, Before, After string
		} `json:"audit"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	if st.Reconcile != nil {
		t.Errorf("reconcile = %s, want null (no loop ran)", *st.Reconcile)
	}
	var got []string
	for _, r := range st.Audit {
		if r.Key == "net.core.somaxconn" {
			got = append(got, r.Action+" "+r.Before+" -> "+r.After)
		}
	}
	want := "apply 4096 -> 65535,persist  -> 65535,rollback 65535 -> 4096"
	if strings.Join(got, ",") != want {
		t.Errorf("somaxconn audit = %q, want %q", strings.Join(got, ","), want)
	}
	_, text, _ := run(t, append([]string{"status"}, base...)...)
	if !strings.Contains(text, "last changes (audit trail") || !lineHas(text, "rollback", "net.core.somaxconn") {
		t.Errorf("status text lacks the audit trail:\n%s", text)
	}
}

func TestAuditRejectsUnknownAction(t *testing.T) {
	code, _, errs := run(t, "systemd", "audit", "--state-dir", t.TempDir(), "--action", "aply")
	if code != ExitError || !strings.Contains(errs, `unknown --action "aply"`) || !strings.Contains(errs, "hint: allowed values: apply") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}
