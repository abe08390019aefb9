package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcptune/tcptune/internal/testhook"
)

// TestShippedBinaryHasNoTestHooks: the binary 'make build' makes links
// neither package testing nor the test hooks, and an apply with
// TCPTUNE_TEST_PAUSE_AFTER_WRITE set finishes without pausing; the test
// build (-tags tcptune_testhooks) pauses.
func TestShippedBinaryHasNoTestHooks(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/tcptune/tcptune/cmd/tcptune").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "testing" || strings.HasSuffix(dep, "/internal/testhook") || strings.HasSuffix(dep, "/internal/nstest") || strings.HasSuffix(dep, "/internal/fakeroot") {
			t.Errorf("the shipped binary links %s", dep)
		}
	}
	dir := t.TempDir()
	writeFakeRoot(t, filepath.Join(dir, "proc"), nil)
	bin := buildTcptune(t)
	cmd := exec.Command(bin, append([]string{"apply", "fail-fast"}, append(txDirs(dir), persistFlags(dir)...)...)...)
	cmd.Env = append(os.Environ(), testhook.EnvPauseAfterWrite+"=1")
	b, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(b), "paused after write") {
		t.Fatalf("shipped binary with %s=1: %v\n%s", testhook.EnvPauseAfterWrite, err, b)
	}
}
