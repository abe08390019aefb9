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

// TestStatusHistoryFlag: --history N lists the latest N transactions;
// outside 1 to 50 it is refused (exit 1) with the bound.
func TestStatusHistoryFlag(t *testing.T) {
	t.Setenv("TCPTUNE_NO_JOURNAL", "1")
	dir := t.TempDir()
	base := append(txDirs(dir), persistFlags(dir)...)
	for _, p := range []string{"syn-flood", "fail-fast", "high-concurrency"} {
		writeFakeRoot(t, filepath.Join(dir, "proc"), nil)
		if code, _, errs := run(t, append([]string{"apply", p}, base...)...); code != 0 {
			t.Fatalf("apply %s exit %d: %s", p, code, errs)
		}
	}
	for _, n := range []string{"2", "10"} {
		_, out, errs := run(t, append([]string{"status", "-o", "json", "--history", n}, base...)...)
		var st struct {
			Transactions []struct{ Profiles []string } `json:"transactions"`
		}
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatalf("--history %s: %v\n%s", n, err, errs)
		}
		var got []string
		for _, tx := range st.Transactions {
			got = append(got, strings.Join(tx.Profiles, "+"))
		}
		want := map[string]string{"2": "high-concurrency,fail-fast", "10": "high-concurrency,fail-fast,syn-flood"}[n]
		if strings.Join(got, ",") != want {
			t.Errorf("--history %s lists %q, want %q", n, strings.Join(got, ","), want)
		}
	}
	for _, n := range []string{"0", "51"} {
		if code, _, errs := run(t, append([]string{"status", "--history", n}, base...)...); code != 1 || !strings.Contains(errs, "want 1 to 50") {
			t.Errorf("--history %s: exit %d, %q; want 1 naming the bound", n, code, errs)
		}
	}
}
