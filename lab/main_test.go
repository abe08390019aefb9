package lab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestMain turns the test binary into a lab child when Run re-executes it
// (Options.Exe = os.Args[0]); otherwise it builds the keepalive labs' Go
// client (tcptune-lab-httpclient) into a temporary directory and runs the
// tests.
func TestMain(m *testing.M) {
	if IsChild() {
		os.Exit(ChildMain(os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if os.Getenv(HTTPClientEnv) == "" {
		dir, err := os.MkdirTemp("", "tcptune-lab-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, httpClientName)
		if out, err := exec.Command("go", "build", "-o", bin, "../cmd/tcptune-lab-httpclient").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", httpClientName, err, out)
			return 1
		}
		os.Setenv(HTTPClientEnv, bin)
	}
	return m.Run()
}
