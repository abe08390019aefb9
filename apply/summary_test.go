package apply

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcptune/tcptune/profiles"
)

// TestSummaryEqualsDecoding: after every kind of step (apply, failed
// apply, pruning, rollback, rollback --to, resolve, baseline) status read
// through the summary equals status decoded from the records, and a
// summary that does not match the listing is ignored.
func TestSummaryEqualsDecoding(t *testing.T) {
	e := newTxEnv(t, stock)
	st := store{dir: e.opts.StateDir}
	check := func(step string) {
		t.Helper()
		fast, err := LoadStatus(e.opts)
		must(t, err)
		if _, err := os.Stat(st.summaryPath()); err != nil {
			t.Errorf("%s: no summary written: %v", step, err)
		}
		b, _ := os.ReadFile(st.summaryPath())
		must(t, os.Remove(st.summaryPath()))
		slow, err := LoadStatus(e.opts)
		must(t, err)
		js := func(v any) string { b, _ := json.MarshalIndent(v, "", " "); return string(b) }
		if d := cmp.Diff(js(slow), js(fast)); d != "" {
			t.Errorf("%s: status from the summary differs from decoding (-decoded +summary):\n%s", step, d)
		}
		must(t, os.WriteFile(st.summaryPath(), b, 0o644))
	}
	body := func(v string) *profiles.Resolved {
		return profileFile(t, "name: p\nsettings:\n  net.core.somaxconn: "+v+"\n  net.ipv4.tcp_fin_timeout: 3"+v[:1]+"\n")
	}
	_, err := Apply(context.Background(), builtin(t, profiles.FailFast), e.opts)
	must(t, err)
	check("first apply")
	for i := 0; i < MaxRecords+3; i++ {
		_, err := Apply(context.Background(), body([]string{"1000", "2000"}[i%2]), e.opts)
		must(t, err)
	}
	check("pruned applies")
	bad := e.opts
	bad.IO = &faultIO{FS: e.fs, failAt: 1}
	if _, err := Apply(context.Background(), body("3000"), bad); err == nil {
		t.Fatal("fault not injected")
	}
	check("failed apply")
	_, err = Rollback(context.Background(), e.opts, "")
	must(t, err)
	check("rollback")
	_, err = Apply(context.Background(), body("4000"), e.opts)
	must(t, err)
	check("apply after rollback")
	l, err := st.scan()
	must(t, err)
	_, err = Rollback(context.Background(), e.opts, l.entries[len(l.entries)-5].id)
	must(t, err)
	check("rollback --to")
	crashAfter(t, e, body("5000"), 1)
	_, err = Resolve(context.Background(), e.opts, "")
	must(t, err)
	check("resolve")
	_, err = RollbackBaseline(context.Background(), e.opts)
	must(t, err)
	check("baseline")

	// A summary from another listing is not used.
	_, err = Apply(context.Background(), body("6000"), e.opts)
	must(t, err)
	sm := &summary{FP: 1, Transactions: []TxSummary{{ID: "999999-20250102T030405Z", State: TxApplied}}}
	must(t, st.writeSummary(sm))
	s, err := LoadStatus(e.opts)
	must(t, err)
	if len(s.Transactions) == 0 || s.Transactions[0].ID == "999999-20250102T030405Z" {
		t.Errorf("a stale summary was used: %+v", s.Transactions)
	}
}

// TestDirectoryFsyncsOfAnApply: a steady-state apply (the baseline already
// knows its keys) fsyncs exactly two directories: the record's before the
// first write and the persisted file's after its rename. Pruning, the
// applied mark and the summary are not synchronous.
func TestDirectoryFsyncsOfAnApply(t *testing.T) {
	e := newTxEnv(t, stock)
	body := func(v string) *profiles.Resolved {
		return profileFile(t, "name: p\nsettings:\n  net.core.somaxconn: "+v+"\n")
	}
	for i := 0; i < MaxRecords+1; i++ {
		_, err := Apply(context.Background(), body([]string{"1000", "2000"}[i%2]), e.opts)
		must(t, err)
	}
	var dirs []string
	syncDirHook = func(dir string) error { dirs = append(dirs, dir); return nil }
	defer func() { syncDirHook = nil }()
	_, err := Apply(context.Background(), body("3000"), e.opts)
	must(t, err)
	want := []string{filepath.Join(e.opts.StateDir, "tx"), e.opts.PersistDir}
	if d := cmp.Diff(want, dirs); d != "" {
		t.Errorf("directory fsyncs (-want +got):\n%s", d)
	}
}
