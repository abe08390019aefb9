package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestApplyReadsNoListingWhenTheSummaryIsCurrent runs the shipped binary
// under strace: with the status summary current, an apply reads neither
// the listing of the state directory's tx/ (no getdents64 on it) nor any
// record or the baseline, so its cost does not grow with the records kept.
// A crashed record that the summary does not know (planted by hand, as an
// older tcptune would leave it) makes the next apply read the listing and
// refuse.
func TestApplyReadsNoListingWhenTheSummaryIsCurrent(t *testing.T) {
	if _, err := exec.LookPath("strace"); err != nil {
		t.Skip("strace not installed (scripts/test-packages.txt)")
	}
	bin := buildTcptune(t)
	dir := t.TempDir()
	root, tx := filepath.Join(dir, "proc"), filepath.Join(dir, "state", "tx")
	apply := append(append([]string{"apply", "fail-fast", "--no-persist"}, txDirs(dir)...), persistFlags(dir)...)
	for i := 0; i < 4; i++ { // each from the stock values, so each writes
		writeFakeRoot(t, root, nil)
		if out, err := exec.Command(bin, apply...).CombinedOutput(); err != nil {
			t.Fatalf("apply %d: %v\n%s", i+1, err, out)
		}
	}
	record := regexp.MustCompile(`^[0-9]+-[0-9]{8}T[0-9]{6}Z\.json$`)
	traced := func(step string) (calls []string, failed bool, out []byte) {
		t.Helper()
		log := filepath.Join(dir, "strace.out")
		cmd := exec.Command("strace", append([]string{"-f", "-y", "-qq", "-o", log, "-e", "trace=getdents64,openat", bin}, apply...)...)
		out, err := cmd.CombinedOutput()
		b, rerr := os.ReadFile(log)
		if rerr != nil {
			t.Fatalf("%s: %v", step, rerr)
		}
		for _, line := range strings.Split(string(b), "\n") {
			switch {
			case strings.Contains(line, "getdents64(") && strings.Contains(line, "<"+tx+">"):
				calls = append(calls, "getdents64 tx/")
			case strings.Contains(line, "openat(") && strings.Contains(line, `"`+tx+"/"):
				name := line[strings.Index(line, `"`+tx+"/")+len(tx)+2:]
				name = name[:strings.IndexByte(name, '"')]
				if name == "baseline.json" || record.MatchString(name) {
					calls = append(calls, "open "+name)
				}
			}
		}
		return calls, err != nil, out
	}

	writeFakeRoot(t, root, nil)
	calls, failed, out := traced("apply 5")
	if failed {
		t.Fatalf("apply 5 failed:\n%s", out)
	}
	if len(calls) != 0 {
		t.Errorf("apply with a current summary read the state directory: %q", calls)
	}

	// A crashed transaction the summary does not know: the newest record
	// again under the next sequence number, no mark.
	names, err := os.ReadDir(tx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, n := range names {
		if record.MatchString(n.Name()) {
			ids = append(ids, strings.TrimSuffix(n.Name(), ".json"))
		}
	}
	sort.Strings(ids)
	if len(ids) != 5 {
		t.Fatalf("%d records, want 5: %q", len(ids), ids)
	}
	b, err := os.ReadFile(filepath.Join(tx, ids[4]+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var r map[string]any
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	r["seq"] = 6
	r["id"] = "000006" + strings.TrimPrefix(ids[4], "000005")
	b, _ = json.Marshal(r)
	if err := os.WriteFile(filepath.Join(tx, r["id"].(string)+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	writeFakeRoot(t, root, nil)
	calls, failed, out = traced("apply over a crash")
	if !failed || !strings.Contains(string(out), r["id"].(string)) {
		t.Errorf("apply over the planted crash %s did not refuse naming it:\n%s", r["id"], out)
	}
	if !strings.Contains(strings.Join(calls, " "), "getdents64 tx/") {
		t.Errorf("apply over a crash the summary does not know did not read the listing: %q", calls)
	}
}
