package profiles

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// ReadRegular (tuned's files, import's sysctl files) reads a regular file
// whole and refuses, with the path and what it is, a FIFO (without blocking
// on it), a directory and a file over MaxFileSize.
func TestReadRegular(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "active_profile")
	if err := os.WriteFile(ok, []byte("throughput-performance\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadRegular(ok, "tuned file"); err != nil || string(b) != "throughput-performance\n" {
		t.Errorf("regular file: %q, %v", b, err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, MaxFileSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		fifo:                       "tuned file " + fifo + " is not a regular file (a FIFO)",
		dir:                        "tuned file " + dir + " is a directory, not a file",
		big:                        "tuned file " + big + " is larger than the",
		filepath.Join(dir, "none"): "cannot read tuned file " + filepath.Join(dir, "none") + ": no such file",
	} {
		if _, err := ReadRegular(path, "tuned file"); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: %v, want %q...", path, err, want)
		}
	}
}
