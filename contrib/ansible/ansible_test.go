// Package ansible holds the Ansible module and playbooks for tcptune and the
// test that runs them with the real ansible-playbook.
package ansible

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tcptune/tcptune/internal/nstest"
)

// envBin carries the tcptune binary built by the parent test to its child
// in the private network namespace.
const envBin = "TCPTUNE_ANSIBLE_TEST_BIN"

// TestAnsibleModulePlaybook runs playbook.yml (the tcptune_profile module):
// check mode reports the change and writes nothing, the first run changes,
// the second is ok.
func TestAnsibleModulePlaybook(t *testing.T) {
	runPlaybooks(t, "playbook.yml", func(bin, state, persist string) map[string]any {
		return map[string]any{"tcptune_state_dir": state, "tcptune_persist_dir": persist}
	})
}

// TestAnsibleCommandPlaybook runs playbook-command.yml: plain
// ansible.builtin.command keyed on tcptune's exit codes.
func TestAnsibleCommandPlaybook(t *testing.T) {
	runPlaybooks(t, "playbook-command.yml", func(bin, state, persist string) map[string]any {
		return map[string]any{"tcptune_apply_flags": []string{"--state-dir", state, "--persist-dir", persist}}
	})
}

// key is the one fail-fast sets (to 3) that the playbook tests watch.
const key = "/proc/sys/net/ipv4/tcp_syn_retries"

// inNetnsWithBinary: in the parent it checks for ansible-playbook, builds
// tcptune and runs the test body in a private network namespace (returning
// false); in that child it returns true, so the playbook's writes to
// /proc/sys/net land only there.
func inNetnsWithBinary(t *testing.T) bool {
	if os.Getenv(envBin) == "" { // the parent: prerequisites and the binary
		if _, err := exec.LookPath("ansible-playbook"); err != nil {
			if os.Getenv("TCPTUNE_REQUIRE_NETNS") == "1" {
				t.Fatal("ansible-playbook not found (TCPTUNE_REQUIRE_NETNS=1): apt-get install ansible-core")
			}
			t.Skip("SKIPPED: ansible-playbook not found; apt-get install ansible-core to run the Ansible test")
		}
		bin := filepath.Join(t.TempDir(), "tcptune")
		if out, err := exec.Command("go", "build", "-o", bin, "github.com/tcptune/tcptune/cmd/tcptune").CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		t.Setenv(envBin, bin)
	}
	return nstest.InPrivateNetns(t)
}

// writeVars writes the playbook variables (fail-fast on localhost with the
// test's binary) and returns the file.
func writeVars(t *testing.T, v map[string]any) string {
	v["tcptune_hosts"] = "localhost"
	v["tcptune_binary"] = os.Getenv(envBin)
	v["tcptune_profiles"] = []string{"fail-fast"}
	v["ansible_become"] = false // root already; no sudo needed
	v["ansible_python_interpreter"] = "/usr/bin/python3"
	varsFile := filepath.Join(t.TempDir(), "vars.json")
	b, _ := json.Marshal(v)
	if err := os.WriteFile(varsFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if readTrim(t, key) == "3" {
		t.Fatalf("%s is already 3 in a fresh namespace; the test would prove nothing", key)
	}
	return varsFile
}

func runPlaybooks(t *testing.T, playbook string, vars func(bin, state, persist string) map[string]any) {
	if !inNetnsWithBinary(t) {
		return
	}
	state := t.TempDir()
	persist := filepath.Join(t.TempDir(), "sysctl.d")
	varsFile := writeVars(t, vars(os.Getenv(envBin), state, persist))
	before := readTrim(t, key)

	s := playbook1(t, playbook, varsFile, true)
	if s.Changed != 1 || s.Failures != 0 {
		t.Errorf("check mode: changed=%d failures=%d, want changed=1 failures=0", s.Changed, s.Failures)
	}
	if got := readTrim(t, key); got != before {
		t.Errorf("check mode wrote %s = %s (was %s)", key, got, before)
	}
	if _, err := os.Stat(filepath.Join(persist, "90-tcptune.conf")); !os.IsNotExist(err) {
		t.Errorf("check mode created the persisted file (stat: %v)", err)
	}
	if ents, _ := os.ReadDir(state); len(ents) != 0 {
		t.Errorf("check mode wrote into the state directory: %v", ents)
	}

	s = playbook1(t, playbook, varsFile, false)
	if s.Changed != 1 || s.Failures != 0 {
		t.Errorf("first run: changed=%d failures=%d, want changed=1", s.Changed, s.Failures)
	}
	if got := readTrim(t, key); got != "3" {
		t.Errorf("after the first run %s = %s, want 3", key, got)
	}
	if _, err := os.Stat(filepath.Join(persist, "90-tcptune.conf")); err != nil {
		t.Errorf("first run did not persist: %v", err)
	}

	s = playbook1(t, playbook, varsFile, false)
	if s.Changed != 0 || s.Failures != 0 || s.Ok == 0 {
		t.Errorf("second run: changed=%d failures=%d ok=%d, want changed=0 and ok", s.Changed, s.Failures, s.Ok)
	}
	s = playbook1(t, playbook, varsFile, true)
	if s.Changed != 0 || s.Failures != 0 {
		t.Errorf("check mode after apply: changed=%d failures=%d, want 0", s.Changed, s.Failures)
	}
}

// TestAnsiblePlanPlaybook runs playbook-plan.yml (the module's plan
// option): check mode saves the plan and writes nothing else, the next run
// applies exactly it, and a run over a host that moved since the check
// fails with nothing written.
func TestAnsiblePlanPlaybook(t *testing.T) {
	if !inNetnsWithBinary(t) {
		return
	}
	state := t.TempDir()
	persist := filepath.Join(t.TempDir(), "sysctl.d")
	plan := filepath.Join(t.TempDir(), "plan.json")
	varsFile := writeVars(t, map[string]any{"tcptune_state_dir": state, "tcptune_persist_dir": persist, "tcptune_plan": plan})
	before := readTrim(t, key)

	if s := playbook1(t, "playbook-plan.yml", varsFile, false); s.Failures != 1 {
		t.Errorf("apply without a saved plan: failures=%d, want 1", s.Failures)
	}
	if s := playbook1(t, "playbook-plan.yml", varsFile, true); s.Changed != 1 || s.Failures != 0 {
		t.Errorf("check mode: changed=%d failures=%d, want changed=1", s.Changed, s.Failures)
	}
	if _, err := os.Stat(plan); err != nil || readTrim(t, key) != before {
		t.Fatalf("check mode: plan %v, %s = %s (was %s)", err, key, readTrim(t, key), before)
	}
	if s := playbook1(t, "playbook-plan.yml", varsFile, false); s.Changed != 1 || s.Failures != 0 {
		t.Errorf("applying the plan: changed=%d failures=%d, want changed=1", s.Changed, s.Failures)
	}
	if got := readTrim(t, key); got != "3" {
		t.Errorf("after applying the plan %s = %s, want 3", key, got)
	}

	// The host moves between the check and the run: refused, nothing written.
	if err := os.WriteFile(key, []byte("6\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if s := playbook1(t, "playbook-plan.yml", varsFile, true); s.Changed != 1 {
		t.Errorf("check mode after a drift: changed=%d, want 1", s.Changed)
	}
	if err := os.WriteFile(key, []byte("5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if s := playbook1(t, "playbook-plan.yml", varsFile, false); s.Failures != 1 {
		t.Errorf("a stale plan: failures=%d, want 1", s.Failures)
	}
	if got := readTrim(t, key); got != "5" {
		t.Errorf("a stale plan wrote %s = %s", key, got)
	}
}

// hostStats is one host's line of the PLAY RECAP.
type hostStats struct {
	Ok, Changed, Failures int
}

// playbook1 runs one playbook against localhost (connection local) with
// ansible-core's default callback and returns localhost's PLAY RECAP. The
// json callback lives in the ansible.posix collection, which ansible-core
// alone does not ship, so the recap line is parsed instead.
func playbook1(t *testing.T, playbook, varsFile string, check bool) hostStats {
	t.Helper()
	home := t.TempDir()
	args := []string{"-i", "localhost,", "-c", "local", "-e", "@" + varsFile, playbook}
	if check {
		args = append(args, "--check", "--diff")
	}
	cmd := exec.Command("ansible-playbook", args...)
	cmd.Env = append(os.Environ(),
		"ANSIBLE_STDOUT_CALLBACK=default", "ANSIBLE_NOCOLOR=1", "ANSIBLE_FORCE_COLOR=0", "ANSIBLE_RETRY_FILES_ENABLED=0",
		"ANSIBLE_HOME="+home, "ANSIBLE_LOCAL_TEMP="+filepath.Join(home, "tmp"),
		"ANSIBLE_REMOTE_TEMP="+filepath.Join(home, "rtmp"), "ANSIBLE_CONFIG="+filepath.Join(home, "none.cfg"))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	s, ok := parseRecap(out.String(), "localhost")
	if !ok {
		t.Fatalf("ansible-playbook %s: %v; no PLAY RECAP line for localhost\n%s\n%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	if err != nil || s.Failures != 0 {
		t.Logf("ansible-playbook %s: %v\n%s\n%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return s
}

// parseRecap finds host's line in the PLAY RECAP of the default callback:
// "localhost : ok=2 changed=1 unreachable=0 failed=0 skipped=0 ...".
func parseRecap(out, host string) (hostStats, bool) {
	_, recap, found := strings.Cut(out, "PLAY RECAP")
	if !found {
		return hostStats{}, false
	}
	for _, line := range strings.Split(recap, "\n") {
		name, counts, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) != host {
			continue
		}
		var s hostStats
		seen := 0
		for _, f := range strings.Fields(counts) {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				continue
			}
			n, err := strconv.Atoi(v)
			if err != nil {
				return hostStats{}, false
			}
			switch k {
			case "ok":
				s.Ok, seen = n, seen+1
			case "changed":
				s.Changed, seen = n, seen+1
			case "failed":
				s.Failures, seen = n, seen+1
			}
		}
		return s, seen == 3
	}
	return hostStats{}, false
}

func readTrim(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
