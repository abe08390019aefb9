package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tcptune/tcptune/internal/testhook"
)

// The contract (docs/contract.md): every -o json output validates against
// its schema in docs/schema, and the exit statuses config management keys
// on (diff 0/2, apply --detailed-exitcode 0/2, status 0/2) hold. Outputs are
// real: the commands run on a fake sysctl root, doctor on the live /proc
// (it only reads).

const schemaDir = "../../docs/schema"

// schemas compiles every docs/schema/*.json, by file name without .json.
func schemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(schemaDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no schemas in %s: %v", schemaDir, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	ids := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		id, _ := doc.(map[string]any)["$id"].(string)
		if id == "" {
			t.Fatalf("%s: no $id", f)
		}
		if err := c.AddResource(id, doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		ids[strings.TrimSuffix(filepath.Base(f), ".json")] = id
	}
	out := map[string]*jsonschema.Schema{}
	for name, id := range ids {
		s, err := c.Compile(id)
		if err != nil {
			t.Fatalf("schema %s: %v", name, err)
		}
		out[name] = s
	}
	return out
}

// conform checks that out is exactly one JSON object (Salt's stateful
// protocol reads the whole stdout as one) valid against the schema.
func conform(t *testing.T, sch map[string]*jsonschema.Schema, name, what, out string) {
	t.Helper()
	s, ok := sch[name]
	if !ok {
		t.Fatalf("no schema %s.json", name)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	var first json.RawMessage
	if err := dec.Decode(&first); err != nil {
		t.Fatalf("%s: stdout is not JSON: %v\n%s", what, err, out)
	}
	if dec.More() {
		t.Fatalf("%s: stdout holds more than one JSON value:\n%s", what, out)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(first))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(inst); err != nil {
		t.Errorf("%s: output does not match docs/schema/%s.json: %v\n%s", what, name, err, out)
	}
}

func expect(t *testing.T, what string, code, want int, out, errs string) {
	t.Helper()
	if code != want {
		t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", what, code, want, out, errs)
	}
}

// TestContractJSON runs each command the way config management does and
// validates every output, including the idempotency that Ansible's
// changed_when, Puppet's unless and Chef's not_if rely on.
func TestContractJSON(t *testing.T) {
	sch := schemas(t)
	dir := t.TempDir()
	writeFakeRoot(t, filepath.Join(dir, "proc"), nil)
	tx := append(txDirs(dir), persistFlags(dir)...)
	st := txDirs(dir)
	runs := func(args ...string) (int, string, string) { return run(t, args...) }

	code, out, errs := runs("list", "-o", "json")
	expect(t, "list", code, 0, out, errs)
	conform(t, sch, "list", "list", out)

	code, out, errs = runs("show", "high-concurrency", "syn-flood", "-o", "json")
	expect(t, "show", code, 0, out, errs)
	conform(t, sch, "show", "show (with overrides)", out)
	if !strings.Contains(out, `"by_profile": "syn-flood"`) {
		t.Errorf("show: expected an override by syn-flood:\n%s", out)
	}

	code, out, errs = runs("validate", "fail-fast", "-o", "json")
	expect(t, "validate", code, 0, out, errs)
	conform(t, sch, "validate", "validate (valid)", out)
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: bad\nsettings:\n  net.core.somaxconn: -5\n  net.ipv4.tcp_syncookies: 7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = runs("validate", bad, "-o", "json")
	expect(t, "validate bad", code, 1, out, errs)
	conform(t, sch, "validate", "validate (invalid)", out)

	code, out, errs = runs("version", "-o", "json")
	expect(t, "version", code, 0, out, errs)
	conform(t, sch, "version", "version", out)

	// The config-management loop: check, apply, check again.
	code, out, errs = runs(append([]string{"diff", "fail-fast", "-o", "json"}, "--sysctl-root", filepath.Join(dir, "proc"))...)
	expect(t, "diff before apply", code, ExitChanges, out, errs)
	conform(t, sch, "diff", "diff (drift)", out)

	code, out, errs = runs(append([]string{"apply", "fail-fast", "--dry-run", "-o", "json", "--detailed-exitcode"}, tx...)...)
	expect(t, "apply --dry-run --detailed-exitcode", code, 0, out, errs) // a dry run changes nothing
	conform(t, sch, "apply", "apply --dry-run", out)

	code, out, errs = runs(append([]string{"apply", "fail-fast", "high-concurrency", "-o", "json", "--detailed-exitcode"}, tx...)...)
	expect(t, "first apply --detailed-exitcode", code, ExitChanges, out, errs)
	conform(t, sch, "apply", "apply (changed)", out)

	code, out, errs = runs(append([]string{"apply", "fail-fast", "high-concurrency", "-o", "json", "--detailed-exitcode"}, tx...)...)
	expect(t, "second apply --detailed-exitcode", code, 0, out, errs)
	conform(t, sch, "apply", "apply (unchanged)", out)
	if !strings.Contains(out, `"changed": false`) {
		t.Errorf("second apply: want changed false:\n%s", out)
	}

	code, out, errs = runs(append([]string{"diff", "fail-fast", "-o", "json"}, "--sysctl-root", filepath.Join(dir, "proc"))...)
	expect(t, "diff after apply", code, 0, out, errs)
	conform(t, sch, "diff", "diff (in sync)", out)

	code, out, errs = runs(append([]string{"status", "-o", "json"}, st...)...)
	expect(t, "status in sync", code, 0, out, errs)
	conform(t, sch, "status", "status (in sync)", out)
	var status struct{ Transactions []json.RawMessage }
	if err := json.Unmarshal([]byte(out), &status); err != nil || len(status.Transactions) != 1 {
		t.Errorf("after two applies: %d transactions (%v), want 1: an apply with nothing to do records none", len(status.Transactions), err)
	}

	// Someone changes a key behind tcptune's back: status says drift.
	somax := filepath.Join(dir, "proc/net/ipv4/tcp_syn_retries")
	if err := os.WriteFile(somax, []byte("7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = runs(append([]string{"status", "-o", "json"}, st...)...)
	expect(t, "status with drift", code, ExitChanges, out, errs)
	conform(t, sch, "status", "status (drift)", out)

	code, out, errs = runs(append([]string{"rollback", "-o", "json"}, st...)...)
	expect(t, "rollback", code, 0, out, errs)
	conform(t, sch, "rollback", "rollback", out)

	code, out, errs = runs("doctor", "--once", "-o", "json")
	if code != 0 && code != ExitChanges {
		expect(t, "doctor --once", code, 0, out, errs)
	}
	conform(t, sch, "doctor", "doctor --once", out)
}

// TestContractCrashed kills a real tcptune mid-apply (on a fake root) and
// checks what status, status -o prometheus and rollback --resolve say about
// the crashed transaction.
func TestContractCrashed(t *testing.T) {
	sch := schemas(t)
	bin := buildTcptune(t, "-tags", "tcptune_testhooks") // the pause hook is in test builds only
	dir := t.TempDir()
	writeFakeRoot(t, filepath.Join(dir, "proc"), nil)
	st := txDirs(dir)

	cmd := exec.Command(bin, append([]string{"apply", "fail-fast"}, append(st, persistFlags(dir)...)...)...)
	cmd.Env = append(os.Environ(), testhook.EnvPauseAfterWrite+"=2")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	paused := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "paused after write 2") {
				paused <- true
				return
			}
		}
		paused <- false
	}()
	select {
	case ok := <-paused:
		if !ok {
			t.Fatal("apply ended without pausing")
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("apply did not pause within 30s")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	code, out, errs := run(t, append([]string{"status", "-o", "json"}, st...)...)
	expect(t, "status after crash", code, ExitChanges, out, errs)
	conform(t, sch, "status", "status (crashed)", out)

	code, out, errs = run(t, append([]string{"status", "-o", "prometheus"}, st...)...)
	expect(t, "status -o prometheus after crash", code, ExitChanges, out, errs)
	checkExposition(t, out)
	for _, want := range []string{"tcptune_crashed_transactions 1\n", "tcptune_last_transaction_success 0\n", `state="applying"`} {
		if !strings.Contains(out, want) {
			t.Errorf("status -o prometheus after crash: missing %q:\n%s", want, out)
		}
	}

	code, out, errs = run(t, append([]string{"rollback", "--resolve", "-o", "json"}, st...)...)
	expect(t, "rollback --resolve", code, 0, out, errs)
	conform(t, sch, "rollback", "rollback --resolve", out)
}

// TestStatusPrometheus: per-key drift, last transaction and its result, in
// the text exposition format.
func TestStatusPrometheus(t *testing.T) {
	dir := t.TempDir()
	writeFakeRoot(t, filepath.Join(dir, "proc"), nil)
	st := txDirs(dir)

	code, out, errs := run(t, append([]string{"status", "-o", "prometheus"}, st...)...)
	expect(t, "status -o prometheus, nothing applied", code, 0, out, errs)
	checkExposition(t, out)
	if strings.Contains(out, "tcptune_last_transaction") {
		t.Errorf("no transaction yet, but a last-transaction metric:\n%s", out)
	}

	code, out, errs = run(t, append(append([]string{"apply", "fail-fast"}, st...), persistFlags(dir)...)...)
	expect(t, "apply", code, 0, out, errs)
	if err := os.WriteFile(filepath.Join(dir, "proc/net/ipv4/tcp_fin_timeout"), []byte("30\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = run(t, append([]string{"status", "-o", "prometheus"}, st...)...)
	expect(t, "status -o prometheus with drift", code, ExitChanges, out, errs)
	checkExposition(t, out)
	for _, re := range []string{
		`(?m)^tcptune_drift 1$`,
		`(?m)^tcptune_key_drift\{key="net\.ipv4\.tcp_fin_timeout",source="applied",transaction="[^"]+"\} 1$`,
		`(?m)^tcptune_key_drift\{key="net\.ipv4\.tcp_syn_retries",source="applied",transaction="[^"]+"\} 0$`,
		`(?m)^tcptune_key_drift\{key="net\.ipv4\.tcp_fin_timeout",source="persisted",transaction=""\} 1$`,
		`(?m)^tcptune_last_transaction_info\{id="[^"]+",state="applied",profiles="fail-fast"\} 1$`,
		`(?m)^tcptune_last_transaction_success 1$`,
		`(?m)^tcptune_last_transaction_timestamp_seconds 1[0-9]{9}\.[0-9]{3}$`,
		`(?m)^tcptune_crashed_transactions 0$`,
		`(?m)^tcptune_persisted_file_owned\{file="[^"]+"\} 1$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("status -o prometheus: no line matching %s:\n%s", re, out)
		}
	}
}

// checkExposition checks the rules of the text format that a scraper
// enforces: names start with tcptune_ and use [a-z0-9_], each family has
// HELP and TYPE before its samples, and no family appears twice. The full
// parse with expfmt is in prometheus_expfmt_test.go.
func checkExposition(t *testing.T, out string) {
	t.Helper()
	name := regexp.MustCompile(`^tcptune_[a-z0-9_]+$`)
	typed := map[string]bool{}
	var current string
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "# HELP "):
			f := strings.Fields(line)
			if len(f) < 4 || !name.MatchString(f[2]) {
				t.Errorf("line %d: bad HELP: %q", i+1, line)
			}
			if typed[f[2]] {
				t.Errorf("line %d: family %s appears twice", i+1, f[2])
			}
			current = f[2]
		case strings.HasPrefix(line, "# TYPE "):
			f := strings.Fields(line)
			if len(f) != 4 || f[2] != current || (f[3] != "gauge" && f[3] != "counter") {
				t.Errorf("line %d: bad TYPE (after HELP of %s): %q", i+1, current, line)
			}
			if f[3] == "counter" && !strings.HasSuffix(f[2], "_total") {
				t.Errorf("line %d: counter %s does not end in _total", i+1, f[2])
			}
			typed[f[2]] = true
		default:
			n := line
			if j := strings.IndexAny(line, "{ "); j >= 0 {
				n = line[:j]
			}
			if n != current || !typed[n] {
				t.Errorf("line %d: sample %q outside its family (%s)", i+1, line, current)
			}
		}
	}
}

// TestSchemasReject: the schemas are strict enough to catch a changed
// contract (a renamed field, an unknown action, a null list).
func TestSchemasReject(t *testing.T) {
	sch := schemas(t)
	for _, tc := range []struct{ schema, doc string }{
		{"diff", `{"profiles":[],"in_sync":true,"changes":null}`},
		{"diff", `{"profiles":[],"in_sync":true,"changes":[{"key":"net.core.somaxconn","before":"1","after":"2","desired":"2","op":"exact","action":"write","profile":"p"}]}`},
		{"apply", `{"changed":true,"failed":false,"dry_run":false,"transaction":"","profiles":[],"settings":[],"persisted":null,"restart":[],"warnings":[],"extra":1}`},
		{"apply", `{"failed":false,"dry_run":false,"transaction":"","profiles":[],"settings":[],"persisted":null,"restart":[],"warnings":[]}`},
		{"status", `{"transactions":[{"id":"1","state":"applied","profiles":[],"started":"yesterday","pid":1,"keys":0}],"applied":[],"persisted":null,"crashed":[],"in_progress":false,"drift":false}`},
		{"rollback", `{"changed":true,"failed":false,"resolved":7}`},
		{"list", `{"profiles":[{"name":"Bad Name","description":"","origin":"builtin","file":"","extends":[],"keys":1}]}`},
	} {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(tc.doc))
		if err != nil {
			t.Fatal(err)
		}
		if sch[tc.schema].Validate(inst) == nil {
			t.Errorf("%s.json accepted %s", tc.schema, tc.doc)
		}
	}
}
