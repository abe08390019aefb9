package sysctl

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeRoot builds a sysctl tree in a temp dir: path -> content.
func fakeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestFSReadWrite(t *testing.T) {
	root := fakeRoot(t, map[string]string{
		"net/core/somaxconn":                "4096\n",
		"net/ipv4/tcp_rmem":                 "4096\t131072\t6291456\n",
		"net/ipv4/conf/eth0.100/forwarding": "0\n",
	})
	f := NewFS(root)
	v, err := f.Read(MustKey("net.ipv4.tcp_rmem"))
	if err != nil || v != "4096 131072 6291456" {
		t.Fatalf("Read tcp_rmem = %q, %v", v, err)
	}
	if err := f.Write(MustKey("net.core.somaxconn"), "65535"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "net/core/somaxconn")); string(b) != "65535\n" {
		t.Errorf("file holds %q after write", b)
	}
	// eth0.100 through systemd's slash rule.
	if err := f.Write(MustKey("net.ipv4.conf.eth0/100.forwarding"), "1"); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.Read(MustKey("net/ipv4/conf/eth0.100/forwarding")); v != "1" {
		t.Errorf("forwarding = %q", v)
	}
	keys, err := f.List(MustKey("net"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, k := range keys {
		names = append(names, k.String())
	}
	want := []string{"net.core.somaxconn", "net.ipv4.conf.eth0/100.forwarding", "net.ipv4.tcp_rmem"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
}

func TestFSErrorClasses(t *testing.T) {
	root := fakeRoot(t, map[string]string{
		"net/core/somaxconn": "4096\n",
		"net/core/ro":        "1\n",
	})
	if err := os.Chmod(filepath.Join(root, "net/core/ro"), 0o444); err != nil {
		t.Fatal(err)
	}
	// A symlink pointing out of the root must never be followed.
	if err := os.Symlink("/etc/passwd", filepath.Join(root, "net/core/escape")); err != nil {
		t.Fatal(err)
	}
	f := NewFS(root)
	_, err := f.Read(MustKey("net.core.missing"))
	if !errors.Is(err, ErrNotPresent) {
		t.Errorf("missing key: %v, want ErrNotPresent", err)
	}
	if err := f.Write(MustKey("net.core.missing"), "1"); !errors.Is(err, ErrNotPresent) {
		t.Errorf("write missing key: %v, want ErrNotPresent", err)
	}
	if _, err := os.Stat(filepath.Join(root, "net/core/missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("write of a missing key created a file")
	}
	if err := f.Write(MustKey("net.core.ro"), "0"); !errors.Is(err, ErrReadOnly) {
		t.Errorf("write read-only key: %v, want ErrReadOnly", err)
	}
	if err := f.Writable(MustKey("net.core.ro")); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Writable(ro) = %v", err)
	}
	if _, err := f.Read(MustKey("net.core.escape")); err == nil {
		t.Errorf("read through a symlink out of the root succeeded")
	}
	if err := f.Write(MustKey("net.core.somaxconn"), "1\n2"); !errors.Is(err, ErrRejected) {
		t.Errorf("write of two lines: %v, want ErrRejected", err)
	}
	if _, err := NewFS(filepath.Join(root, "nope")).Read(MustKey("net.core.somaxconn")); !errors.Is(err, ErrNoRoot) {
		t.Errorf("missing root: %v, want ErrNoRoot", err)
	}
	ok, err := f.Exists(MustKey("net.core.somaxconn"))
	if !ok || err != nil {
		t.Errorf("Exists(somaxconn) = %v, %v", ok, err)
	}
	ok, err = f.Exists(MustKey("net.core.somaxconn.sub"))
	if ok || err != nil {
		t.Errorf("Exists(file/sub) = %v, %v", ok, err)
	}
}

func TestClassifyErrno(t *testing.T) {
	root := fakeRoot(t, map[string]string{"net/core/somaxconn": "1\n"})
	f := NewFS(root)
	r, err := os.OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	k := MustKey("net.core.somaxconn")
	for errno, class := range map[syscall.Errno]error{
		syscall.EINVAL: ErrRejected, syscall.ERANGE: ErrRejected, syscall.EROFS: ErrReadOnly,
		syscall.EACCES: ErrPermission, syscall.EPERM: ErrPermission, syscall.ENOENT: ErrNotPresent,
	} {
		err := f.classify("write", k, r, &fs.PathError{Op: "write", Path: "x", Err: errno})
		if !errors.Is(err, class) {
			t.Errorf("classify(%v) = %v, want %v", errno, err, class)
		}
		if !errors.Is(err, errno) {
			t.Errorf("classify(%v) lost the errno", errno)
		}
	}
}

// TestNonRegularKeysRefused: under another root a key may be a FIFO (whose
// open would wait for a writer, or a reader, forever) or a socket. Read,
// Write and Writable refuse them with an error naming the key and the file
// type, and never block.
func TestNonRegularKeysRefused(t *testing.T) {
	root := fakeRoot(t, map[string]string{"net/core/rmem_max": "1\n"})
	fifo := filepath.Join(root, "net/core/somaxconn")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	sock := filepath.Join(root, "net/core/wmem_max")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("unix socket: %v", err)
	}
	defer l.Close()
	f := NewFS(root)
	for _, name := range []string{"net.core.somaxconn", "net.core.wmem_max"} {
		k := MustKey(name)
		done := make(chan []error, 1)
		go func() {
			_, rerr := f.Read(k)
			done <- []error{rerr, f.Write(k, "65535"), f.Writable(k)}
		}()
		select {
		case errs := <-done:
			for i, err := range errs {
				op := []string{"Read", "Write", "Writable"}[i]
				if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "not a regular file") {
					t.Errorf("%s(%s) = %v, want a not-a-regular-file error naming the key", op, name, err)
				}
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: Read, Write or Writable blocked on a non-regular file", name)
		}
	}
	if v, err := f.Read(MustKey("net.core.rmem_max")); err != nil || v != "1" {
		t.Errorf("the regular key next to them: %q, %v", v, err)
	}
}
