package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestFIFONeverBlocks: a FIFO with no writer would block open(2) forever;
// Open refuses it at once.
func TestFIFONeverBlocks(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := ReadFile(p, 1<<20, FollowLinks); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) {
			t.Fatalf("FIFO: %v, want ErrNotRegular", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reading a FIFO blocked")
	}
	// O_WRONLY|O_NONBLOCK on a FIFO without a reader fails with ENXIO
	// instead of blocking: an error either way, never a hang.
	if f, err := OpenAppend(p, 0o644); err == nil {
		f.Close()
		t.Fatal("append to FIFO opened it")
	}
}

func TestLimitsAndLinks(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadFile("/dev/zero", 1<<10, FollowLinks); !errors.Is(err, ErrNotRegular) {
		t.Errorf("/dev/zero: %v", err)
	}
	big := filepath.Join(dir, "big")
	os.WriteFile(big, make([]byte, 2048), 0o644)
	if _, err := ReadFile(big, 1024, FollowLinks); !errors.Is(err, ErrTooLarge) {
		t.Errorf("2 KiB with 1 KiB limit: %v", err)
	}
	if b, err := ReadFile(big, 2048, FollowLinks); err != nil || len(b) != 2048 {
		t.Errorf("at the limit: %d, %v", len(b), err)
	}
	link := filepath.Join(dir, "link")
	os.Symlink(big, link)
	if _, err := ReadFile(link, 4096, NoFollow); !errors.Is(err, ErrNotRegular) {
		t.Errorf("symlink with NoFollow: %v", err)
	}
	if _, err := ReadFile(link, 4096, FollowLinks); err != nil {
		t.Errorf("symlink followed: %v", err)
	}
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("x"), 0o644)
	al := filepath.Join(dir, "audit.jsonl")
	os.Symlink(victim, al)
	if _, err := OpenAppend(al, 0o640); !errors.Is(err, ErrNotRegular) {
		t.Errorf("append through symlink: %v", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "x" {
		t.Errorf("victim changed: %q", b)
	}
}

// ReadFile returns the whole content at every size around its buffer's
// growth steps and at the limit, and reads files whose size stat does not
// know (procfs says 0).
func TestReadFileContents(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, 1, 511, 512, 513, 1023, 1024, 1025, 5000} {
		p := filepath.Join(dir, "f")
		want := make([]byte, n)
		for i := range want {
			want[i] = byte('a' + i%26)
		}
		if err := os.WriteFile(p, want, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, limit := range []int64{int64(n), int64(n) + 1, 1 << 20} {
			got, err := ReadFile(p, limit, NoFollow)
			if err != nil || string(got) != string(want) {
				t.Errorf("%d bytes, limit %d: %d bytes, %v", n, limit, len(got), err)
			}
		}
		if n > 0 {
			if _, err := ReadFile(p, int64(n)-1, NoFollow); !errors.Is(err, ErrTooLarge) {
				t.Errorf("%d bytes, limit %d: %v, want ErrTooLarge", n, n-1, err)
			}
		}
	}
	want, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Skip(err)
	}
	got, err := ReadFile("/proc/self/mountinfo", 1<<20, FollowLinks)
	if err != nil || len(got) == 0 || string(got[:len(got)/2]) != string(want[:len(got)/2]) {
		t.Errorf("/proc/self/mountinfo: %d bytes, %v", len(got), err)
	}
}
