package lab

import (
	"os"
	"testing"
)

// TestMain turns the test binary into a lab child when Run re-executes it
// (Options.Exe = os.Args[0]); otherwise it runs the tests.
func TestMain(m *testing.M) {
	if IsChild() {
		os.Exit(ChildMain(os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
