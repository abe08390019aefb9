//go:build tcptune_ext

package cli

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcptune/tcptune/internal/nstest"
	"github.com/tcptune/tcptune/resettrace"
)

// TestDoctorTraceKernel: `doctor --trace` sees resets produced while it
// runs, in this namespace only (--netns), as JSON valid against
// docs/schema/doctor-trace.json, as Prometheus text and as a textfile.
func TestDoctorTraceKernel(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	sch := schemas(t)
	textfile := filepath.Join(t.TempDir(), "tcptune-trace.prom")
	for _, tc := range []struct{ output string }{{"json"}, {"prometheus"}, {"text"}} {
		var out, errb bytes.Buffer
		done := make(chan int)
		go func() {
			done <- Run([]string{"doctor", "--trace", "3s", "--netns", "/proc/self/ns/net", "--textfile", textfile, "-o", tc.output},
				strings.NewReader(""), &out, &errb)
		}()
		time.Sleep(1500 * time.Millisecond) // the programs are attached by then (they take ~50 ms)
		for range 3 {
			if _, err := net.DialTimeout("tcp4", "127.0.0.1:9", time.Second); err == nil {
				t.Fatal("something listens on 127.0.0.1:9 in a fresh namespace")
			}
		}
		code := <-done
		expect(t, "doctor --trace -o "+tc.output, code, ExitChanges, out.String(), errb.String())
		switch tc.output {
		case "json":
			conform(t, sch, "doctor-trace", "doctor --trace -o json", out.String())
			var r resettrace.Report
			if err := json.Unmarshal(out.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			if r.Dominant != resettrace.NoListener {
				t.Errorf("dominant cause %q, want no-listener", r.Dominant)
			}
			found := false
			for _, row := range r.Rows {
				found = found || row.Cause == resettrace.NoListener && row.Local == "127.0.0.1:9" && row.Count == 3
			}
			if !found {
				t.Errorf("no row of 3 no-listener resets at 127.0.0.1:9:\n%s", out.String())
			}
		case "prometheus":
			for _, want := range []string{`tcptune_trace_resets_by_cause{cause="no-listener"} 3`,
				`tcptune_trace_resets_by_cause{cause="keepalive-race"} 0`, "tcptune_trace_reason_available 1"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("prometheus output lacks %q:\n%s", want, out.String())
				}
			}
		case "text":
			if !strings.Contains(out.String(), "no-listener") || !strings.Contains(out.String(), "127.0.0.1:9") {
				t.Errorf("text output:\n%s", out.String())
			}
		}
		b, err := os.ReadFile(textfile)
		if err != nil || !strings.Contains(string(b), `tcptune_trace_resets_by_cause{cause="no-listener"} 3`) {
			t.Errorf("textfile: %v\n%s", err, b)
		}
	}
}

// TestDoctorTraceRefused: without privileges, doctor --trace exits 1 and
// says what to do. The command runs as the testscript copy of tcptune under
// setpriv as user nobody with every capability dropped.
func TestDoctorTraceRefused(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv (util-linux) not installed")
	}
	bin, err := exec.LookPath("tcptune")
	if err != nil {
		t.Fatalf("testscript's tcptune not in PATH: %v", err)
	}
	// Root without capabilities could still trace through a mounted
	// tracefs (its files are root's by mode), as on any host where systemd
	// mounts it: the unprivileged case is another user as well.
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		"--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all", bin, "doctor", "--trace", "1s")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != ExitError {
		t.Fatalf("exit %v, want %d\nstdout:\n%s\nstderr:\n%s", err, ExitError, out.String(), errb.String())
	}
	for _, want := range []string{"not permitted to trace TCP resets", "hint: run as root (CAP_BPF and CAP_PERFMON"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
}

func TestDoctorTraceFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"doctor", "--trace", "0s"}, "--trace must be a positive duration"},
		{[]string{"doctor", "--once", "-o", "prometheus"}, "-o prometheus and --textfile need --trace"},
	} {
		var out, errb bytes.Buffer
		if code := Run(tc.args, strings.NewReader(""), &out, &errb); code != ExitError || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", tc.args, code, errb.String(), tc.want)
		}
	}
}
