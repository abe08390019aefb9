package sysctl

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// The fast paths of Read, Exists and Writable (openat2 RESOLVE_BENEATH) and their fallback for kernels
// without openat2 keep os.Root's guarantee: nothing outside the root is
// read, through ".." or a symlink, and values and errors are the same.
func TestFastPathsKeepTheRoot(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("42\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := fakeRoot(t, map[string]string{"net/core/somaxconn": "4096\n", "net/core/ro": "1\n", "net/ipv4/tcp_rmem": "4096\t131072  6291456\n"})
	if err := os.Chmod(filepath.Join(root, "net/core/ro"), 0o444); err != nil {
		t.Fatal(err)
	}
	for _, link := range []struct{ name, target string }{
		{"net/core/abs", outside},
		{"net/core/rel", "../../../" + filepath.Base(filepath.Dir(outside)) + "/secret"},
	} {
		if err := os.Symlink(link.target, filepath.Join(root, link.name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, noOpenat2 := range []bool{false, true} {
		if noOpenat2 {
			openat2 = func(int, string, *unix.OpenHow) (int, error) { return -1, unix.ENOSYS }
			t.Cleanup(func() { openat2 = unix.Openat2 })
		}
		f := NewFS(root)
		if v, err := f.Read(MustKey("net.ipv4.tcp_rmem")); err != nil || v != "4096 131072 6291456" {
			t.Errorf("openat2 missing=%v: tcp_rmem = %q, %v", noOpenat2, v, err)
		}
		for _, k := range []string{"net.core.abs", "net.core.rel"} {
			if v, err := f.Read(MustKey(k)); err == nil {
				t.Errorf("openat2 missing=%v: %s read %q through a symlink out of the root", noOpenat2, k, v)
			}
		}
		if _, err := f.Read(MustKey("net.core.nope")); !errors.Is(err, ErrNotPresent) {
			t.Errorf("openat2 missing=%v: absent key: %v, want ErrNotPresent", noOpenat2, err)
		}
		for k, want := range map[string]bool{"net.core.somaxconn": true, "net.core.nope": false, "net.core": false, "net.core.abs": false, "net.core.rel": false} {
			if got, err := f.Exists(MustKey(k)); got != want {
				t.Errorf("openat2 missing=%v: Exists(%s) = %v, %v; want %v", noOpenat2, k, got, err, want)
			}
		}
		if err := f.Writable(MustKey("net.core.somaxconn")); err != nil {
			t.Errorf("openat2 missing=%v: Writable(somaxconn) = %v", noOpenat2, err)
		}
		if err := f.Writable(MustKey("net.core.ro")); !errors.Is(err, ErrReadOnly) {
			t.Errorf("openat2 missing=%v: Writable(ro) = %v, want ErrReadOnly", noOpenat2, err)
		}
		if err := f.Writable(MustKey("net.core.nope")); !errors.Is(err, ErrNotPresent) {
			t.Errorf("openat2 missing=%v: Writable(nope) = %v, want ErrNotPresent", noOpenat2, err)
		}
		if err := f.Writable(MustKey("net.core.abs")); err == nil {
			t.Errorf("openat2 missing=%v: Writable through a symlink out of the root succeeded", noOpenat2)
		}
		// The kernel's own tree, read through the fallback's plain openat.
		if _, err := os.Stat(DefaultRoot + "/net/core/somaxconn"); err == nil {
			want, _ := os.ReadFile(DefaultRoot + "/net/core/somaxconn")
			if v, err := NewFS("").Read(MustKey("net.core.somaxconn")); err != nil || v != Normalize(string(want)) {
				t.Errorf("openat2 missing=%v: /proc/sys somaxconn = %q, %v; want %q", noOpenat2, v, err, want)
			}
		}
	}
}
