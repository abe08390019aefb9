package reconcile

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcptune/tcptune/apply"
	"github.com/tcptune/tcptune/internal/fakeroot"
	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
	"github.com/tcptune/tcptune/systemd"
)

const testProfile = `name: rc
description: reconcile test
settings:
  net.core.somaxconn:
    value: 65535
    op: at-least
  net.ipv4.tcp_syn_retries:
    value: 3
    op: at-most
`

type fixture struct {
	root, state, audit, textfile, statefile string
	fs                                      *sysctl.FS
	r                                       *profiles.Resolved
	notify                                  *net.UnixConn
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{root: filepath.Join(dir, "sys"), state: filepath.Join(dir, "state")}
	f.audit = filepath.Join(f.state, systemd.AuditFileName)
	f.statefile = filepath.Join(f.state, StateFileName)
	f.textfile = filepath.Join(dir, "tcptune.prom")
	if err := fakeroot.Write(f.root, map[string]string{"net.core.somaxconn": "4096", "net.ipv4.tcp_syn_retries": "6"}); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(f.state, 0o755)
	f.fs = sysctl.NewFS(f.root)
	pf := filepath.Join(dir, "rc.yaml")
	os.WriteFile(pf, []byte(testProfile), 0o644)
	r, err := (&profiles.Loader{}).Resolve(pf)
	if err != nil {
		t.Fatal(err)
	}
	f.r = r
	sock := filepath.Join(dir, "notify.sock")
	f.notify, err = net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.notify.Close() })
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "")
	return f
}

func (f *fixture) options(mode Mode) Options {
	ao := apply.Options{
		FS: f.fs, Netns: netns.Initial, StateDir: f.state, NoPersist: true,
		LockWait: 5 * time.Second, Version: "test",
	}
	return Options{
		Resolved: f.r, Mode: mode, Interval: 50 * time.Millisecond, Reader: f.fs, Netns: netns.Initial,
		Apply: func(ctx context.Context, r *profiles.Resolved) (*apply.Result, error) {
			return apply.Apply(ctx, r, ao)
		},
		Auditor:   &systemd.Auditor{File: f.audit},
		Notifier:  systemd.NewNotifier(),
		StateFile: f.statefile, Textfile: f.textfile, Actor: "test",
	}
}

// await reads sd_notify datagrams until one contains want.
func (f *fixture) await(t *testing.T, want string) string {
	t.Helper()
	buf := make([]byte, 4096)
	deadline := time.Now().Add(10 * time.Second)
	var seen []string
	for time.Now().Before(deadline) {
		f.notify.SetReadDeadline(deadline)
		n, err := f.notify.Read(buf)
		if err != nil {
			break
		}
		msg := string(buf[:n])
		if strings.Contains(msg, want) {
			return msg
		}
		seen = append(seen, msg)
	}
	t.Fatalf("no sd_notify message containing %q; got:\n%s", want, strings.Join(seen, "\n---\n"))
	return ""
}

func (f *fixture) read(t *testing.T, key string) string {
	t.Helper()
	v, err := f.fs.Read(sysctl.MustKey(key))
	if err != nil {
		t.Fatal(err)
	}
	return string(v)
}

func (f *fixture) write(t *testing.T, key, v string) {
	t.Helper()
	if err := f.fs.Write(sysctl.MustKey(key), sysctl.Value(v)); err != nil {
		t.Fatal(err)
	}
}

func start(t *testing.T, o Options) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()
	return func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after cancel")
			return nil
		}
	}
}

func TestEnforceCorrectsDriftAndKeepsProfileOnStop(t *testing.T) {
	f := newFixture(t)
	stop := start(t, f.options(ModeEnforce))

	// The first check applies the profile before READY=1.
	ready := f.await(t, "READY=1")
	if !strings.Contains(ready, "corrected 2 drifted key(s)") {
		t.Errorf("READY status = %q, want the initial correction", ready)
	}
	if got := f.read(t, "net.core.somaxconn"); got != "65535" {
		t.Fatalf("somaxconn after start = %s", got)
	}

	f.write(t, "net.core.somaxconn", "1024") // someone's sysctl -w
	msg := f.await(t, "corrected 1 drifted key(s) (net.core.somaxconn)")
	if !strings.Contains(msg, "in sync") {
		t.Errorf("status after correction = %q, want in sync", msg)
	}
	if got := f.read(t, "net.core.somaxconn"); got != "65535" {
		t.Fatalf("somaxconn not corrected: %s", got)
	}
	// An admin raising it further is not drift (at-least).
	f.write(t, "net.core.somaxconn", "100000")
	time.Sleep(200 * time.Millisecond)

	if err := stop(); err != nil {
		t.Fatalf("Run returned %v on a clean stop", err)
	}
	f.await(t, "STOPPING=1")
	if got := f.read(t, "net.core.somaxconn"); got != "100000" {
		t.Errorf("somaxconn after stop = %s: the loop must neither roll back nor lower it", got)
	}
	if got := f.read(t, "net.ipv4.tcp_syn_retries"); got != "3" {
		t.Errorf("tcp_syn_retries after stop = %s: the profile must stay applied", got)
	}

	st, err := LoadState(f.state)
	if err != nil || st == nil {
		t.Fatalf("LoadState: %v", err)
	}
	if st.Running || st.Stopped == nil || st.Corrections != 3 || len(st.Drifted) != 0 || st.Errors != 0 {
		t.Errorf("state = %+v, want stopped, 3 corrections, no drift, no errors", st)
	}
	recs, _, err := systemd.ReadAudit(f.audit, systemd.AuditFilter{Key: "net.core.somaxconn", Action: systemd.ActionReconcile})
	if err != nil || len(recs) != 2 {
		t.Fatalf("reconcile records for somaxconn: %v, %+v", err, recs)
	}
	last := recs[1]
	if last.Before != "1024" || last.After != "65535" || last.Transaction == "" || last.Profile != "rc" || last.Actor != "test" {
		t.Errorf("correction record = %+v", last)
	}
	if recs[0].Transaction == last.Transaction {
		t.Error("two corrections share a transaction")
	}
}

func TestReportRecordsDriftOnceAndWritesNothing(t *testing.T) {
	f := newFixture(t)
	stop := start(t, f.options(ModeReport))
	f.await(t, "READY=1")
	f.await(t, "STATUS=report: 2 key(s) drifted: net.core.somaxconn, net.ipv4.tcp_syn_retries")
	for i := 0; i < 3; i++ { // several checks of the same drift
		f.await(t, "STATUS=")
	}
	f.write(t, "net.ipv4.tcp_syn_retries", "3") // someone fixes one key
	f.await(t, "STATUS=report: 1 key(s) drifted: net.core.somaxconn")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := f.read(t, "net.core.somaxconn"); got != "4096" {
		t.Errorf("report mode wrote somaxconn: %s", got)
	}
	recs, _, err := systemd.ReadAudit(f.audit, systemd.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("audit records = %+v, want one drift record per key", recs)
	}
	for _, r := range recs {
		if r.Action != systemd.ActionDrift {
			t.Errorf("record %+v, want drift", r)
		}
	}
	st, err := LoadState(f.state)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Drifted) != 1 || st.Drifted[0].Key != "net.core.somaxconn" || st.Drifted[0].Live != "4096" || st.Drifted[0].Desired != "65535" {
		t.Errorf("drifted = %+v", st.Drifted)
	}
	if st.Corrections != 0 || st.DriftDetections != 2 {
		t.Errorf("corrections %d, detections %d; want 0, 2", st.Corrections, st.DriftDetections)
	}
	tf, err := os.ReadFile(f.textfile)
	if err != nil || !strings.Contains(string(tf), "tcptune_reconcile_drifted_keys{mode=\"report\"} 1\n") {
		t.Errorf("textfile: %v\n%s", err, tf)
	}
}

func TestFailedCorrectionIsCountedNotFatal(t *testing.T) {
	f := newFixture(t)
	o := f.options(ModeEnforce)
	o.Apply = func(context.Context, *profiles.Resolved) (*apply.Result, error) {
		return nil, apply.ErrLocked
	}
	stop := start(t, o)
	msg := f.await(t, "READY=1")
	if !strings.Contains(msg, "correct failed") || !strings.Contains(msg, "2 key(s) drifted") {
		t.Errorf("READY status = %q", msg)
	}
	f.await(t, "STATUS=correct failed")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	st, _ := LoadState(f.state)
	if st.Errors < 2 || st.LastError == "" || len(st.Drifted) != 2 {
		t.Errorf("state = %+v", st)
	}
}

func TestStale(t *testing.T) {
	now := time.Now()
	old := now.Add(-time.Hour)
	s := &State{Running: true, Interval: "30s", LastCheck: &old}
	if !s.Stale(now) {
		t.Error("an hour-old check at 30s interval is not stale")
	}
	s.LastCheck = &now
	if s.Stale(now) {
		t.Error("a fresh check is stale")
	}
	s.Running, s.LastCheck = false, &old
	if s.Stale(now) {
		t.Error("a stopped loop is stale")
	}
}
