package apply

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

const planProfile = `name: web
description: saved-plan test
settings:
  net.core.somaxconn:
    value: 8192
    op: at-least
  net.ipv4.tcp_syn_retries:
    value: 3
  net.ipv4.tcp_fin_timeout:
    value: 60
`

// savedPlan makes, saves and reads back a plan of profile body, bound to
// the profile as it resolves from the file then.
func savedPlan(t *testing.T, e *txEnv, pf string) (string, *Plan) {
	t.Helper()
	r, err := (&profiles.Loader{}).Resolve(pf)
	must(t, err)
	p, err := NewPlan(r, e.fs, netns.Initial)
	must(t, err)
	p.Stamp("test", e.fs.Root(), time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	path := filepath.Join(e.dir, "plan.json")
	must(t, SavePlan(path, p))
	loaded, err := ReadPlan(path)
	must(t, err)
	return path, loaded
}

func bindNow(t *testing.T, p *Plan, pf string) error {
	t.Helper()
	r, err := (&profiles.Loader{}).Resolve(pf)
	must(t, err)
	return p.Bind(r)
}

func TestSavedPlanAppliedExactly(t *testing.T) {
	e := newTxEnv(t, stock)
	pf := filepath.Join(e.dir, "web.yaml")
	must(t, os.WriteFile(pf, []byte(planProfile), 0o644))
	_, p := savedPlan(t, e, pf)
	if p.Format != PlanFormat || p.Version != "test" || p.NetnsKind != "initial" || !strings.HasPrefix(p.Digest, "sha256:") || p.Created == nil {
		t.Fatalf("saved plan lacks its metadata: %+v", p)
	}
	if _, err := ApplyPlan(context.Background(), p, e.opts); err == nil {
		t.Fatal("an unbound plan was applied")
	}
	must(t, bindNow(t, p, pf))
	res, err := ApplyPlan(context.Background(), p, e.opts)
	must(t, err)
	want := map[string]string{"net.core.somaxconn": "8192", "net.ipv4.tcp_syn_retries": "3", "net.ipv4.tcp_fin_timeout": "60"}
	for k, v := range want {
		if got, _ := e.fs.Read(sysctl.MustKey(k)); string(got) != v {
			t.Errorf("%s = %q after applying the plan, want %q", k, got, v)
		}
	}
	if !res.Changed || res.Transaction == "" {
		t.Fatalf("result %+v", res)
	}
	st := store{dir: e.opts.StateDir}
	l, err := st.scan()
	must(t, err)
	rec, err := st.load(l.find(res.Transaction))
	must(t, err)
	if rec.Plan.Digest != p.Digest || len(rec.Originals) != 2 {
		t.Errorf("record: digest %s (plan %s), originals %+v", rec.Plan.Digest, p.Digest, rec.Originals)
	}
}

func TestSavedPlanRefusedWhenStale(t *testing.T) {
	e := newTxEnv(t, stock)
	pf := filepath.Join(e.dir, "web.yaml")
	must(t, os.WriteFile(pf, []byte(planProfile), 0o644))
	_, p := savedPlan(t, e, pf)
	must(t, bindNow(t, p, pf))
	// Between diff and apply, someone lowers fin_timeout (a key the plan
	// leaves unchanged): the plan no longer describes this machine.
	must(t, e.fs.Write(sysctl.MustKey("net.ipv4.tcp_fin_timeout"), "30"))
	before := tree(t, e.dir)
	res, err := ApplyPlan(context.Background(), p, e.opts)
	var se *StaleError
	if !errors.Is(err, ErrStalePlan) || !errors.As(err, &se) || len(se.Keys) != 1 || se.Keys[0].Key.String() != "net.ipv4.tcp_fin_timeout" {
		t.Fatalf("err = %v, want a stale plan naming net.ipv4.tcp_fin_timeout", err)
	}
	if !strings.Contains(err.Error(), `net.ipv4.tcp_fin_timeout was "60" when planned, is "30" now`) || !res.Failed {
		t.Errorf("message %q, failed %v", err, res.Failed)
	}
	after := tree(t, e.dir)
	delete(after, filepath.Join(e.opts.StateDir, "lock"))
	for p, b := range before {
		if after[p] != b {
			t.Errorf("%s changed by a refused plan", p)
		}
	}
	if len(after) != len(before) {
		t.Errorf("a refused plan created files: %d before, %d after", len(before), len(after))
	}

	// Another namespace kind or tree refuses the plan as a whole.
	o := e.opts
	o.Netns = netns.Child
	must(t, e.fs.Write(sysctl.MustKey("net.ipv4.tcp_fin_timeout"), "60"))
	if _, err := ApplyPlan(context.Background(), p, o); !errors.Is(err, ErrStalePlan) || !strings.Contains(err.Error(), "made for a initial network namespace, this is child") {
		t.Errorf("plan for initial applied in child: %v", err)
	}
	o = e.opts
	o.Version = "other"
	if _, err := ApplyPlan(context.Background(), p, o); !errors.Is(err, ErrStalePlan) {
		t.Errorf("plan of another version: %v", err)
	}
}

func TestSavedPlanRefusedWhenProfileChanged(t *testing.T) {
	e := newTxEnv(t, stock)
	pf := filepath.Join(e.dir, "web.yaml")
	must(t, os.WriteFile(pf, []byte(planProfile), 0o644))
	_, p := savedPlan(t, e, pf)
	must(t, os.WriteFile(pf, []byte(strings.Replace(planProfile, "value: 3", "value: 2", 1)), 0o644))
	err := bindNow(t, p, pf)
	var pe *ProfileChangedError
	if !errors.Is(err, ErrPlanProfile) || !errors.As(err, &pe) || len(pe.Keys) != 1 ||
		!strings.Contains(pe.Keys[0], `net.ipv4.tcp_syn_retries: planned exact "3", profile now exact "2"`) {
		t.Fatalf("err = %v", err)
	}
	// A reason-only edit changes nothing on the kernel: still the same plan.
	must(t, os.WriteFile(pf, []byte(strings.Replace(planProfile, "description: saved-plan test", "description: reworded", 1)), 0o644))
	if err := bindNow(t, p, pf); err != nil {
		t.Errorf("a description edit refused the plan: %v", err)
	}
	// An edited plan file (after changed by hand) is refused: the plan must
	// be what its profile computes.
	p.Changes[0].After = "65535"
	must(t, bindNow(t, p, pf))
	if _, err := ApplyPlan(context.Background(), p, e.opts); !errors.Is(err, ErrPlanProfile) {
		t.Errorf("hand-edited plan: %v", err)
	}
	if v, _ := e.fs.Read(sysctl.MustKey("net.core.somaxconn")); v != "4096" {
		t.Errorf("somaxconn = %s after a refused plan", v)
	}
}

func TestReadPlanRejectsBadFiles(t *testing.T) {
	for name, body := range map[string]string{
		"not json":      "{",
		"format":        `{"format": 2, "profiles": ["x"], "digest": "sha256:00", "changes": []}`,
		"unknown field": `{"format": 1, "profiles": ["x"], "digest": "sha256:00", "changes": [], "extra": 1}`,
		"injection":     `{"format": 1, "profiles": ["x"], "digest": "sha256:00", "changes": [{"key": "net.core.somaxconn", "before": "1", "after": "2\nkernel.x = 1", "desired": "2", "op": "exact", "action": "set", "profile": "x"}]}`,
		"bad key":       `{"format": 1, "profiles": ["x"], "digest": "sha256:00", "changes": [{"key": "net/../../etc", "before": "1", "after": "2", "desired": "2", "op": "exact", "action": "set", "profile": "x"}]}`,
	} {
		if _, err := parsePlan("p.json", []byte(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// entries is an Auditor that keeps what it is given.
type entries []AuditEntry

func (e *entries) Audit(es []AuditEntry) error { *e = append(*e, es...); return nil }

func TestRollbackToPrefixAndAttribution(t *testing.T) {
	e := newTxEnv(t, stock)
	var audit entries
	e.opts.Auditor = &audit
	ctx := context.Background()
	one := profileFile(t, "name: one\ndescription: d\nsettings:\n  net.core.somaxconn: {value: 8192}\n")
	two := profileFile(t, "name: two\ndescription: d\nsettings:\n  net.ipv4.tcp_syn_retries: {value: 3}\n")
	r1, err := Apply(ctx, one, e.opts)
	must(t, err)
	e.opts.Now = func() time.Time { return time.Date(2025, 1, 2, 3, 4, 6, 0, time.UTC) }
	r2, err := Apply(ctx, two, e.opts)
	must(t, err)
	if _, err := Rollback(ctx, e.opts, "00000"); err == nil || !strings.Contains(err.Error(), "names 2 transactions") {
		t.Errorf("an ambiguous prefix: %v", err)
	}
	res, err := Rollback(ctx, e.opts, "000001")
	must(t, err)
	got := map[string]string{}
	for _, s := range res.Settings {
		got[s.Key.String()] = s.Transaction
	}
	want := map[string]string{"net.core.somaxconn": r1.Transaction, "net.ipv4.tcp_syn_retries": r2.Transaction}
	for k, tx := range want {
		if got[k] != tx {
			t.Errorf("%s restored from %q, want %q (all: %v)", k, got[k], tx, got)
		}
	}
	for _, a := range audit {
		if a.Action == AuditRollback && a.Transaction != want[a.Key.String()] {
			t.Errorf("audit: %s restored from %s, recorded as %s", a.Key, want[a.Key.String()], a.Transaction)
		}
	}
	if len(audit) != 2*3 { // per apply: one key set + persisted; then two rollback entries
		t.Errorf("audit entries: %+v", audit)
	}
	w, err := LoadWriters(e.opts.StateDir)
	must(t, err)
	for k, tx := range want {
		lw, ok := w.Last(sysctl.MustKey(k))
		if !ok || lw.Kind != WriterRollback || lw.Transaction != tx || lw.Value != sysctl.Value(stock[k]) {
			t.Errorf("last writer of %s = %+v, want the rollback of %s to %s", k, lw, tx, stock[k])
		}
	}
}

func TestLockWaitEndsOnCancel(t *testing.T) {
	e := newTxEnv(t, stock)
	st := store{dir: e.opts.StateDir}
	held, err := acquire(context.Background(), st, 0, false)
	must(t, err)
	defer held.release()
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel(errors.New("interrupt")) }()
	start := time.Now()
	o := e.opts
	o.LockWait = 30 * time.Second
	_, err = Rollback(ctx, o, "")
	if err == nil || !strings.Contains(err.Error(), "interrupt") || time.Since(start) > 5*time.Second {
		t.Fatalf("lock wait after cancel: %v after %v", err, time.Since(start))
	}
}
