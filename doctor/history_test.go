package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcptune/tcptune/apply"
	"github.com/tcptune/tcptune/internal/fakeroot"
	"github.com/tcptune/tcptune/sysctl"
)

// fakeStateDir writes a state directory holding one applied transaction
// that changed key from "from" to "to" at "at" (the record and its mark, as
// apply lays them out).
func fakeStateDir(t *testing.T, at time.Time, changes ...[3]string) string {
	t.Helper()
	dir := t.TempDir()
	tx := filepath.Join(dir, "tx")
	if err := os.MkdirAll(tx, 0o755); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("%06d-%s", 1, at.UTC().Format("20060102T150405Z"))
	rec := apply.Record{Format: 2, ID: id, Seq: 1, State: apply.TxApplying, Profiles: []string{"high-concurrency"}, PID: 1, Started: at}
	for _, c := range changes {
		rec.Originals = append(rec.Originals, apply.Original{Key: sysctl.MustKey(c[0]), Value: sysctl.Value(c[1]), Target: sysctl.Value(c[2])})
	}
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tx, id+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	fin := at.Add(time.Second)
	m, _ := json.Marshal(map[string]any{"state": "applied", "finished": fin})
	if err := os.WriteFile(filepath.Join(tx, id+".applied"), m, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// historyTree is the linux-6.18 fixture (ListenOverflows 1234 since boot)
// with /proc/stat's btime and a fake sysctl tree in which high-concurrency's
// somaxconn and abort_on_overflow are in force.
func historyTree(t *testing.T, boot time.Time) (string, *sysctl.FS) {
	t.Helper()
	root := fixtureTree(t, "linux-6.18")
	stat := fmt.Sprintf("cpu  1 2 3 4\nbtime %d\nprocesses 10\n", boot.Unix())
	if err := os.WriteFile(filepath.Join(root, "stat"), []byte(stat), 0o644); err != nil {
		t.Fatal(err)
	}
	kv := fakeroot.Stock()
	kv["net.core.somaxconn"] = "65535"
	kv["net.ipv4.tcp_abort_on_overflow"] = "0"
	return root, sysctl.NewFS(fakeroot.New(t, kv))
}

// TestSinceBootJudgedAgainstHistory: after tcptune raised somaxconn and
// cleared tcp_abort_on_overflow (after boot), the since-boot overflows are
// not blamed on the new values: the finding names the change (time, before
// and after), is a warning, does not recommend the profile in force, and
// points to an interval measurement. A change before boot, no state
// directory, or a change of an unrelated key leave the finding as it was;
// an unreadable state directory makes a clean report unknown.
func TestSinceBootJudgedAgainstHistory(t *testing.T) {
	boot := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	root, fs := historyTree(t, boot)
	changed := boot.Add(time.Hour)
	run := func(t *testing.T, stateDir string) *Report {
		t.Helper()
		w, err := Sample(context.Background(), Options{Source: Source{ProcRoot: root, Sysctl: fs}, Once: true, StateDir: stateDir})
		if err != nil {
			t.Fatal(err)
		}
		return Analyze(w)
	}
	t.Run("changed after boot", func(t *testing.T) {
		sd := fakeStateDir(t, changed, [3]string{"net.core.somaxconn", "4096", "65535"}, [3]string{"net.ipv4.tcp_abort_on_overflow", "1", "0"})
		r := run(t, sd)
		f := findingByID(r, "accept-queue-overflow")
		if f == nil {
			t.Fatalf("no accept-queue-overflow: %+v", r.Findings)
		}
		if f.Severity != Warning {
			t.Errorf("severity %s: the current values are blamed for counts that span the change", f.Severity)
		}
		if len(f.ChangedDuring) != 2 {
			t.Fatalf("changed_during %+v, want somaxconn and abort_on_overflow", f.ChangedDuring)
		}
		when := changed.Add(time.Second).UTC().Format(time.RFC3339)
		mustContain(t, f.Explanation, "net.core.somaxconn from 4096 to 65535 at "+when, "net.ipv4.tcp_abort_on_overflow from 1 to 0",
			"mix the settings before and after", "tcptune doctor --interval")
		mustContain(t, f.Summary, "the count spans both settings")
		if !f.Fix.AlreadyApplied || f.Fix.Command != "" {
			t.Errorf("fix %+v: recommends what is already applied", f.Fix)
		}
		var b strings.Builder
		if err := WriteText(&b, r); err != nil {
			t.Fatal(err)
		}
		mustContain(t, b.String(), "[WARNING] accept-queue-overflow", "from 4096 to 65535")
		js, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, string(js), `"changed_during":[{"key":"net.core.somaxconn","from":"4096","to":"65535"`)
	})
	for _, tc := range []struct {
		name string
		dir  func(t *testing.T) string
	}{
		{"changed before boot", func(t *testing.T) string {
			return fakeStateDir(t, boot.Add(-time.Hour), [3]string{"net.core.somaxconn", "4096", "65535"})
		}},
		{"unrelated key changed", func(t *testing.T) string {
			return fakeStateDir(t, changed, [3]string{"net.ipv4.tcp_fin_timeout", "60", "30"})
		}},
		{"no state directory", func(t *testing.T) string { return filepath.Join(t.TempDir(), "absent") }},
		{"not read", func(t *testing.T) string { return "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.dir(t))
			f := findingByID(r, "accept-queue-overflow")
			if f == nil || f.Severity != Critical || len(f.ChangedDuring) != 0 || strings.Contains(f.Explanation, "mix the settings") {
				t.Errorf("finding %+v: judged as mixed without a change inside the window", f)
			}
			for _, u := range r.Unavailable {
				if u.Source == historySource {
					t.Errorf("unavailable %v for a readable or absent state directory", u)
				}
			}
		})
	}
	t.Run("unreadable state directory", func(t *testing.T) {
		sd := t.TempDir()
		// A tx that is a file, not a directory: the listing fails for root too.
		if err := os.WriteFile(filepath.Join(sd, "tx"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		w, err := Sample(context.Background(), Options{Source: Source{ProcRoot: root, Sysctl: fs}, Once: true, StateDir: sd})
		if err != nil {
			t.Fatal(err)
		}
		// No counters: only readability decides.
		for _, c := range []Counters{w.After.TCPExt, w.After.TCP} {
			for k := range c {
				c[k] = 0
			}
		}
		w.After.Softnet.Dropped, w.After.Softnet.TimeSqueezed = 0, 0
		w.After.Unavailable = nil
		r := Analyze(w)
		if r.Result != ResultUnknown {
			t.Errorf("result %q with an unreadable state directory, want unknown; unavailable %v findings %v", r.Result, r.Unavailable, r.Findings)
		}
	})
}

// TestBootTime reads btime from a proc root's stat.
func TestBootTime(t *testing.T) {
	root := t.TempDir()
	if _, err := BootTime(root); err == nil {
		t.Error("no stat file: want an error")
	}
	if err := os.WriteFile(filepath.Join(root, "stat"), []byte("cpu 1\nbtime 1700000000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bt, err := BootTime(root)
	if err != nil || bt.Unix() != 1700000000 {
		t.Errorf("BootTime = %v, %v", bt, err)
	}
}
