package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcptune/tcptune/doctor"
)

// TestDoctorUnknownExit: a proc tree where nothing can be read is not
// healthy: exit 3, result "unknown", in text and JSON.
func TestDoctorUnknownExit(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "1", "task", "1", "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("1/task/1", filepath.Join(root, "thread-self")); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := Run([]string{"doctor", "--once", "--proc-root", root, "--sysctl-root", t.TempDir()}, strings.NewReader(""), &out, &errb)
	if code != ExitUnknown || !strings.HasPrefix(out.String(), "unknown:") {
		t.Errorf("text: exit %d, want %d\n%s%s", code, ExitUnknown, out.String(), errb.String())
	}
	out.Reset()
	code = Run([]string{"doctor", "--once", "--proc-root", root, "--sysctl-root", t.TempDir(), "-o", "json"}, strings.NewReader(""), &out, &errb)
	conform(t, schemas(t), "doctor", "doctor -o json on an unreadable tree", out.String())
	var r doctor.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if code != ExitUnknown || r.Result != doctor.ResultUnknown || r.Healthy || len(r.Unavailable) < 4 {
		t.Errorf("json: exit %d result %q healthy %v unavailable %v", code, r.Result, r.Healthy, r.Unavailable)
	}
}
