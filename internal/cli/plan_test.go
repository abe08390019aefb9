package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcptune/tcptune/systemd"
)

const planCLIProfile = `name: web
description: saved plan CLI test
settings:
  net.core.somaxconn:
    value: 8192
    op: at-least
  net.ipv4.tcp_syn_retries:
    value: 3
`

// TestSavedPlanCLI: diff --out writes a plan valid against
// docs/schema/plan.json; apply PLAN applies exactly it; a key changed
// between diff and apply, or a changed profile, refuses it with exit 1,
// the key named and nothing written.
func TestSavedPlanCLI(t *testing.T) {
	sch := schemas(t)
	dir := t.TempDir()
	writeFakeRoot(t, filepath.Join(dir, "proc"), nil)
	prof := filepath.Join(dir, "web.yaml")
	if err := os.WriteFile(prof, []byte(planCLIProfile), 0o644); err != nil {
		t.Fatal(err)
	}
	tx := append(txDirs(dir), persistFlags(dir)...)
	plan := filepath.Join(dir, "plan.json")
	somax := filepath.Join(dir, "proc/net/core/somaxconn")
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}

	code, out, errs := run(t, "diff", "-f", prof, "web", "--sysctl-root", filepath.Join(dir, "proc"), "--out", plan)
	expect(t, "diff --out", code, ExitChanges, out, errs)
	if !strings.Contains(out, "plan saved to "+plan) {
		t.Errorf("diff --out does not say where the plan went:\n%s", out)
	}
	b, err := os.ReadFile(plan)
	if err != nil {
		t.Fatal(err)
	}
	conform(t, sch, "plan", "diff --out", string(b))
	for _, f := range []string{`"tcptune_version"`, `"digest": "sha256:`, `"netns_kind": "initial"`, `"created"`, `"before": "4096"`} {
		if !strings.Contains(string(b), f) {
			t.Errorf("plan file lacks %s:\n%s", f, b)
		}
	}

	// Stale: somaxconn moves between diff and apply.
	if err := os.WriteFile(somax, []byte("1024\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = run(t, append([]string{"apply", "-f", prof, plan}, tx...)...)
	expect(t, "apply stale plan", code, ExitError, out, errs)
	if !strings.Contains(errs, `net.core.somaxconn was "4096" when planned, is "1024" now`) || !strings.Contains(errs, "tcptune: hint: ") {
		t.Errorf("stale plan refusal does not name the key:\n%s", errs)
	}
	if read(somax) != "1024" || read(filepath.Join(dir, "proc/net/ipv4/tcp_syn_retries")) != "6" {
		t.Errorf("a refused plan wrote")
	}
	if _, err := os.Stat(filepath.Join(dir, "etc/sysctl.d/90-tcptune.conf")); err == nil {
		t.Errorf("a refused plan persisted")
	}

	// Applied exactly: a fresh plan of the same machine.
	if err := os.WriteFile(somax, []byte("4096\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = run(t, append([]string{"apply", "-f", prof, plan, "-o", "json"}, tx...)...)
	expect(t, "apply plan", code, 0, out, errs)
	conform(t, sch, "apply", "apply PLAN", out)
	if read(somax) != "8192" || read(filepath.Join(dir, "proc/net/ipv4/tcp_syn_retries")) != "3" {
		t.Errorf("the plan was not applied: somaxconn %s", read(somax))
	}
	// Applied once: the machine moved on, the same plan is now stale.
	code, out, errs = run(t, append([]string{"apply", "-f", prof, plan}, tx...)...)
	expect(t, "apply plan twice", code, ExitError, out, errs)

	// Profile changed between diff and apply.
	code, out, errs = run(t, "diff", "-f", prof, "web", "--sysctl-root", filepath.Join(dir, "proc"), "--out", plan)
	expect(t, "diff --out in sync", code, 0, out, errs)
	if err := os.WriteFile(prof, []byte(strings.Replace(planCLIProfile, "value: 3", "value: 2", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = run(t, append([]string{"apply", "-f", prof, plan}, tx...)...)
	expect(t, "apply plan of a changed profile", code, ExitError, out, errs)
	if !strings.Contains(errs, "profile changed") || !strings.Contains(errs, "net.ipv4.tcp_syn_retries") {
		t.Errorf("changed-profile refusal does not name the key:\n%s", errs)
	}
	if read(filepath.Join(dir, "proc/net/ipv4/tcp_syn_retries")) != "3" {
		t.Errorf("a plan of a changed profile wrote")
	}
}

// TestRollbackToAuditAttribution: after two applies, 'rollback --to 000001'
// (a prefix) restores both, and each audit record names the transaction its
// key was restored from, not the newest for all.
func TestRollbackToAuditAttribution(t *testing.T) {
	t.Setenv(envNoJournal, "1")
	dir := t.TempDir()
	writeFakeRoot(t, filepath.Join(dir, "proc"), nil)
	one := filepath.Join(dir, "one.yaml")
	two := filepath.Join(dir, "two.yaml")
	os.WriteFile(one, []byte("name: one\ndescription: d\nsettings:\n  net.core.somaxconn: {value: 8192}\n"), 0o644)
	os.WriteFile(two, []byte("name: two\ndescription: d\nsettings:\n  net.ipv4.tcp_syn_retries: {value: 3}\n"), 0o644)
	tx := append(txDirs(dir), persistFlags(dir)...)
	var ids []string
	for _, p := range []string{one, two} {
		code, out, errs := run(t, append([]string{"apply", p, "-o", "json"}, tx...)...)
		expect(t, "apply "+p, code, 0, out, errs)
		i := strings.Index(out, `"transaction": "`)
		ids = append(ids, out[i+16:i+16+len("000001-20060102T150405Z")])
	}
	code, out, errs := run(t, append([]string{"rollback", "--to", "000001"}, txDirs(dir)...)...)
	expect(t, "rollback --to 000001", code, 0, out, errs)
	recs, _, err := systemd.ReadAudit(filepath.Join(dir, "state", systemd.AuditFileName), systemd.AuditFilter{Action: systemd.ActionRollback})
	if err != nil || len(recs) != 2 {
		t.Fatalf("rollback audit records: %v %+v", err, recs)
	}
	want := map[string]string{"net.core.somaxconn": ids[0], "net.ipv4.tcp_syn_retries": ids[1]}
	for _, r := range recs {
		if r.Transaction != want[r.Key] {
			t.Errorf("audit: %s restored from %s, recorded as %s", r.Key, want[r.Key], r.Transaction)
		}
	}
}
