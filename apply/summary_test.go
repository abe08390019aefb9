package apply

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcptune/tcptune/profiles"
)

// TestSummaryEqualsDecoding: after every kind of step (apply, failed
// apply, pruning, crash, rollback, rollback --to, resolve, baseline)
// status read through the summary equals status decoded from the records,
// and so does status read through the summary of the step before (as a
// crash between the step and its summary leaves it): patched or, where it
// cannot be, ignored.
func TestSummaryEqualsDecoding(t *testing.T) {
	e := newTxEnv(t, stock)
	st := store{dir: e.opts.StateDir}
	var before []byte // the summary at the previous check
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
		if before != nil {
			must(t, os.WriteFile(st.summaryPath(), before, 0o644))
			patched, err := LoadStatus(e.opts)
			must(t, err)
			if d := cmp.Diff(js(slow), js(patched)); d != "" {
				t.Errorf("%s: status from the previous step's summary differs from decoding (-decoded +patched):\n%s", step, d)
			}
		}
		must(t, os.WriteFile(st.summaryPath(), b, 0o644))
		before = b
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
	check("crash")
	_, err = Resolve(context.Background(), e.opts, "")
	must(t, err)
	check("resolve")
	_, err = RollbackBaseline(context.Background(), e.opts)
	must(t, err)
	check("baseline")
	for i := 0; i < 3; i++ {
		_, err = Apply(context.Background(), body([]string{"1000", "2000"}[i%2]), e.opts)
		must(t, err)
	}
	check("applies after the baseline")
	for i := 0; i < 2; i++ {
		bad.IO = &faultIO{FS: e.fs, failAt: 1}
		if _, err := Apply(context.Background(), body("3000"), bad); err == nil {
			t.Fatal("fault not injected")
		}
	}
	check("failed applies")
	// deleteNewest removes the newest n records and their marks by hand.
	deleteNewest := func(n int) {
		l, err := st.scan()
		must(t, err)
		for _, en := range l.newest(n) {
			must(t, os.Remove(st.path(en.id)))
			for _, m := range en.marks {
				must(t, os.Remove(st.markPath(en.id, m)))
			}
		}
	}
	// The newest two (failed) records deleted: two older ones move into
	// the latest 10, which the summary before did not hold.
	deleteNewest(2)
	check("newest failed records deleted")
	for i := 0; i < 2; i++ {
		_, err = Apply(context.Background(), body([]string{"1000", "2000"}[i%2]), e.opts)
		must(t, err)
	}
	check("applies after")
	deleteNewest(1) // applied: the keys of the one before come back
	check("newest applied record deleted")

	// A summary from another listing is not used.
	_, err = Apply(context.Background(), body("6000"), e.opts)
	must(t, err)
	sm := &summary{Listing: "999999-20250102T030405Z.applied\n", txs: []txLine{txLineOf(TxSummary{ID: "999999-20250102T030405Z", State: TxApplied})}}
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

// TestStatusAfterCrashDecodesOnlyWhatChanged: a crash leaves the summary
// one transaction behind the listing; status then decodes the crashed
// record only, not the 50 before it. Every older record body is planted
// corrupt: decoding any of them would list it as CORRUPT. Without the
// summary the same directory shows all of them corrupt, so the plant works.
func TestStatusAfterCrashDecodesOnlyWhatChanged(t *testing.T) {
	e := newTxEnv(t, stock)
	st := store{dir: e.opts.StateDir}
	body := func(v string) *profiles.Resolved {
		return profileFile(t, "name: p\nsettings:\n  net.core.somaxconn: "+v+"\n  net.ipv4.tcp_fin_timeout: 3"+v[:1]+"\n")
	}
	for i := 0; i < MaxRecords; i++ {
		_, err := Apply(context.Background(), body([]string{"1000", "2000"}[i%2]), e.opts)
		must(t, err)
	}
	want, err := LoadStatus(e.opts)
	must(t, err)
	l, err := st.scan()
	must(t, err)
	crashAfter(t, e, body("5000"), 1)
	for _, en := range l.entries {
		must(t, os.WriteFile(st.path(en.id), []byte("{not a record"), 0o644))
	}
	s, err := LoadStatus(e.opts)
	must(t, err)
	if len(s.Corrupt) != 0 {
		t.Errorf("status decoded %d older records after the crash: %+v", len(s.Corrupt), s.Corrupt[0])
	}
	if len(s.Crashed) != 1 || len(s.Transactions) != statusHistory || s.Transactions[0].ID != s.Crashed[0].ID {
		t.Errorf("want the crashed transaction first of %d, got crashed %+v, transactions %+v", statusHistory, s.Crashed, s.Transactions)
	}
	js := func(v any) string { b, _ := json.MarshalIndent(v, "", " "); return string(b) }
	if d := cmp.Diff(js(want.Transactions[:statusHistory-1]), js(s.Transactions[1:])); d != "" {
		t.Errorf("history after the crash (-before +after):\n%s", d)
	}
	expected := func(ks []KeyStatus) (out []string) { // the live values changed with the crash
		for _, k := range ks {
			out = append(out, k.Key.String()+"="+string(k.Expected)+" by "+k.Transaction)
		}
		return out
	}
	if d := cmp.Diff(expected(want.Applied), expected(s.Applied)); d != "" {
		t.Errorf("keys in effect after the crash (-before +after):\n%s", d)
	}
	must(t, os.Remove(st.summaryPath()))
	s, err = LoadStatus(e.opts)
	must(t, err)
	if len(s.Corrupt) < MaxRecords {
		t.Errorf("without the summary %d corrupt records are listed, want %d: the plant did not work", len(s.Corrupt), MaxRecords)
	}
}

// TestWritersTableEmptiedByPowerLoss: the last-writer table is replaced
// without fsync, so a power loss can leave it empty; that reads as no
// write known (as before the first), not as a corrupt table that would stop
// every apply and reconcile check. Garbage is still refused.
func TestWritersTableEmptiedByPowerLoss(t *testing.T) {
	dir := t.TempDir()
	st := store{dir: dir}
	must(t, os.WriteFile(st.writersPath(), nil, 0o644))
	w, err := LoadWriters(dir)
	must(t, err)
	if len(w.Keys) != 0 || w.Generation != 0 {
		t.Errorf("empty table read as %+v", w)
	}
	must(t, os.WriteFile(st.writersPath(), []byte("{garbage"), 0o644))
	if _, err := LoadWriters(dir); err == nil {
		t.Error("a garbled table was accepted")
	}
}

// TestStatusHistoryDecodesWhatItLists: status lists the latest 10 from the
// summary; History asks for more, decoded from their records and no
// others. Records 11 to 30 (newest first) are planted corrupt: listing 10
// does not see them, listing 30 reports each, and the 20 older ones beyond
// stay unread.
func TestStatusHistoryDecodesWhatItLists(t *testing.T) {
	e := newTxEnv(t, stock)
	st := store{dir: e.opts.StateDir}
	body := func(v string) *profiles.Resolved {
		return profileFile(t, "name: p\nsettings:\n  net.core.somaxconn: "+v+"\n")
	}
	for i := 0; i < MaxRecords; i++ {
		_, err := Apply(context.Background(), body([]string{"1000", "2000"}[i%2]), e.opts)
		must(t, err)
	}
	l, err := st.scan()
	must(t, err)
	newest := l.newest(MaxRecords)
	ids := func(es []*entry) (out []string) {
		for _, en := range es {
			out = append(out, en.id)
		}
		return out
	}
	listed := func(s *Status) (out []string) {
		for _, tx := range s.Transactions {
			out = append(out, tx.ID)
		}
		return out
	}
	o := e.opts
	o.History = 30
	s, err := LoadStatus(o)
	must(t, err)
	if d := cmp.Diff(ids(newest[:30]), listed(s)); d != "" {
		t.Errorf("History 30 (-want +got):\n%s", d)
	}
	for _, en := range newest[statusHistory:30] {
		must(t, os.WriteFile(st.path(en.id), []byte("{not a record"), 0o644))
	}
	s, err = LoadStatus(e.opts)
	must(t, err)
	if d := cmp.Diff(ids(newest[:statusHistory]), listed(s)); d != "" || len(s.Corrupt) != 0 {
		t.Errorf("default history: corrupt %d (want 0: none of them listed), transactions (-want +got):\n%s", len(s.Corrupt), d)
	}
	s, err = LoadStatus(o)
	must(t, err)
	if len(s.Corrupt) != 30-statusHistory || len(s.Transactions) != statusHistory {
		t.Errorf("History 30 over 20 planted corrupt records: %d corrupt, %d listed; want 20 and 10", len(s.Corrupt), len(s.Transactions))
	}
	o.History = 3
	s, err = LoadStatus(o)
	must(t, err)
	if d := cmp.Diff(ids(newest[:3]), listed(s)); d != "" {
		t.Errorf("History 3 (-want +got):\n%s", d)
	}
}

// TestGarbledSummaryIsNotTrusted: a summary whose lines are garbled (a
// transaction's JSON, a key, an unknown line, the old JSON format) is not
// used: status equals status decoded from the records.
func TestGarbledSummaryIsNotTrusted(t *testing.T) {
	e := newTxEnv(t, stock)
	st := store{dir: e.opts.StateDir}
	for _, v := range []string{"1000", "2000", "3000"} {
		_, err := Apply(context.Background(), profileFile(t, "name: p\nsettings:\n  net.core.somaxconn: "+v+"\n"), e.opts)
		must(t, err)
	}
	good, err := os.ReadFile(st.summaryPath())
	must(t, err)
	js := func(v any) string { b, _ := json.MarshalIndent(v, "", " "); return string(b) }
	must(t, os.Remove(st.summaryPath()))
	want, err := LoadStatus(e.opts)
	must(t, err)
	lines := strings.Split(string(good), "\n")
	garble := map[string]func(string) string{
		"transaction JSON": func(l string) string {
			if strings.HasPrefix(l, "T ") {
				return l[:len(l)-5]
			}
			return l
		},
		"key in effect": func(l string) string {
			if strings.HasPrefix(l, "A ") {
				return strings.Replace(l, "net.core.somaxconn", "kernel..x", 1)
			}
			return l
		},
		"unknown line": func(l string) string {
			if strings.HasPrefix(l, "A ") {
				return "Z" + l[1:]
			}
			return l
		},
		"old format": func(l string) string {
			if l == summaryHead {
				return `{"format":2}`
			}
			return l
		},
	}
	for name, f := range garble {
		var out []string
		for _, l := range lines {
			out = append(out, f(l))
		}
		if strings.Join(out, "\n") == string(good) {
			t.Fatalf("%s: nothing garbled", name)
		}
		must(t, os.WriteFile(st.summaryPath(), []byte(strings.Join(out, "\n")), 0o644))
		got, err := LoadStatus(e.opts)
		must(t, err)
		if d := cmp.Diff(js(want), js(got)); d != "" {
			t.Errorf("%s: status differs from decoding (-decoded +garbled summary):\n%s", name, d)
		}
	}
}
