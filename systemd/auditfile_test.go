package systemd

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAuditFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), AuditFileName)
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	recs := []Record{
		{Time: t0, Action: ActionApply, Transaction: "000001-x", Profile: "p", Key: "net.core.somaxconn", Before: "4096", After: "65535"},
		{Time: t0.Add(time.Minute), Action: ActionDrift, Profile: "p", Key: "net.core.somaxconn", Before: "65535", After: "1024"},
		{Time: t0.Add(2 * time.Minute), Action: ActionReconcile, Transaction: "000002-x", Profile: "p", Key: "net.core.somaxconn", Before: "1024", After: "65535"},
		{Time: t0.Add(3 * time.Minute), Action: ActionRollback, Key: "net.ipv4.tcp_syn_retries", Before: "3", After: "6"},
	}
	if err := AppendAudit(path, recs[:2]); err != nil {
		t.Fatal(err)
	}
	// A torn line, as a crash mid-write leaves, then more records.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"time":"2025-03-01T12:00:30Z","action":"app` + "\n")
	f.Close()
	if err := AppendAudit(path, recs[2:]); err != nil {
		t.Fatal(err)
	}
	got, skipped, err := ReadAudit(path, AuditFilter{})
	if err != nil || skipped != 1 {
		t.Fatalf("ReadAudit: err %v, skipped %d, want 1", err, skipped)
	}
	if d := cmp.Diff(recs, got); d != "" {
		t.Errorf("records (-want +got):\n%s", d)
	}
	for name, c := range map[string]struct {
		f    AuditFilter
		want []Record
	}{
		"key":    {AuditFilter{Key: "net.ipv4.tcp_syn_retries"}, recs[3:]},
		"action": {AuditFilter{Action: ActionDrift}, recs[1:2]},
		"since":  {AuditFilter{Since: t0.Add(2 * time.Minute)}, recs[2:]},
		"last":   {AuditFilter{Key: "net.core.somaxconn", Last: 1}, recs[2:3]},
	} {
		got, _, err := ReadAudit(path, c.f)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(c.want, got); d != "" {
			t.Errorf("%s filter (-want +got):\n%s", name, d)
		}
	}
	if got, _, err := ReadAudit(filepath.Join(t.TempDir(), "none"), AuditFilter{}); err != nil || got != nil {
		t.Errorf("missing audit file: %v, %v", got, err)
	}
}

func TestAuditFileRotates(t *testing.T) {
	path := filepath.Join(t.TempDir(), AuditFileName)
	big := Record{Action: ActionApply, Key: "net.core.somaxconn", Note: strings.Repeat("x", 64<<10)}
	n := maxAuditSize/(64<<10) + 8
	for i := 0; i < n; i++ {
		if err := AppendAudit(path, []Record{big}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := os.Stat(path)
	if err != nil || st.Size() > maxAuditSize {
		t.Fatalf("audit file not rotated: %v, size %d", err, st.Size())
	}
	if _, err := os.Stat(path + ".1"); err != nil {
		t.Fatalf("no rotated file: %v", err)
	}
	got, _, err := ReadAudit(path, AuditFilter{})
	if err != nil || len(got) == 0 || len(got) > n {
		t.Fatalf("ReadAudit after rotation: %d records, %v", len(got), err)
	}
}

func TestRecordFieldsOmitEmpty(t *testing.T) {
	f := Record{Action: ActionPersist, Key: "net.core.somaxconn", After: "65535"}.Fields()
	for _, k := range []string{"TCPTUNE_PROFILE", "TCPTUNE_TRANSACTION", "TCPTUNE_BEFORE", "TCPTUNE_TIME"} {
		if _, ok := f[k]; ok {
			t.Errorf("empty field %s sent", k)
		}
	}
	if f["TCPTUNE_ACTION"] != "persist" || f["TCPTUNE_KEY"] != "net.core.somaxconn" {
		t.Errorf("fields = %v", f)
	}
}

// TestAuditFileNeverFollowsLinks: a symlink planted as audit.jsonl must not
// make root append to the file it names; a FIFO must not block.
func TestAuditFileNeverFollowsLinks(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "shadow")
	if err := os.WriteFile(victim, []byte("root:x:0:0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, AuditFileName)
	if err := os.Symlink(victim, p); err != nil {
		t.Fatal(err)
	}
	a := &Auditor{File: p}
	if err := a.Record(Record{Time: time.Now(), Action: ActionApply, Key: "net.core.somaxconn"}); err == nil {
		t.Error("audit appended through a symlink")
	}
	if b, _ := os.ReadFile(victim); string(b) != "root:x:0:0\n" {
		t.Errorf("the link's target was changed: %q", b)
	}
	if _, _, err := ReadAudit(p, AuditFilter{}); err == nil {
		t.Error("ReadAudit followed a symlink")
	}
	fifo := filepath.Join(dir, "fifo.jsonl")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&Auditor{File: fifo}).Record(Record{Time: time.Now(), Action: ActionApply, Key: "k"})
		ReadAudit(fifo, AuditFilter{})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("audit blocked on a FIFO")
	}
}

// TestReadAuditLastReadsTail: Last N from a long file equals reading it
// whole, whether or not the tail covers them.
func TestReadAuditLastReadsTail(t *testing.T) {
	p := filepath.Join(t.TempDir(), AuditFileName)
	a := &Auditor{File: p}
	for i := 0; i < 2000; i++ {
		k := "net.core.somaxconn"
		if i%7 == 0 {
			k = "net.ipv4.tcp_fin_timeout"
		}
		if err := a.Record(Record{Time: time.Unix(int64(i), 0).UTC(), Action: ActionApply, Key: k, After: strings.Repeat("x", i%50)}); err != nil {
			t.Fatal(err)
		}
	}
	all, _, err := ReadAudit(p, AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []AuditFilter{{Last: 10}, {Last: 1500}, {Last: 10, Key: "net.ipv4.tcp_fin_timeout"}, {Last: 5000}} {
		got, _, err := ReadAudit(p, f)
		if err != nil {
			t.Fatal(err)
		}
		var want []Record
		for _, r := range all {
			if f.match(r) {
				want = append(want, r)
			}
		}
		if len(want) > f.Last {
			want = want[len(want)-f.Last:]
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%+v: tail differs from the whole file:\n%s", f, d)
		}
	}
}
