package sysctl

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// DefaultRoot is where the kernel exposes sysctls. Nothing else in tcptune
// spells this path: everything takes a root so tests and --sysctl-root can
// point at a temp tree.
const DefaultRoot = "/proc/sys"

// Error classes. Every error from FS wraps exactly one of them (or an
// unexpected I/O error), so callers can tell "this kernel has no such key"
// from "you are not root" with errors.Is.
var (
	// ErrNotPresent: the key does not exist under the root (module not
	// loaded, removed in this kernel, or a host-wide key seen from a child
	// network namespace).
	ErrNotPresent = errors.New("not present")
	// ErrReadOnly: the key exists but cannot be written here (mode 0444, or a
	// read-only /proc/sys as in most containers).
	ErrReadOnly = errors.New("read-only")
	// ErrRejected: the kernel refused the value (EINVAL, ERANGE): out of its
	// bounds or malformed.
	ErrRejected = errors.New("rejected by the kernel")
	// ErrPermission: the key is writable by someone, but not by this process.
	ErrPermission = errors.New("permission denied")
	// ErrNoRoot: the sysctl root itself is missing or not a directory (no
	// procfs at all), as opposed to one missing key.
	ErrNoRoot = errors.New("sysctl root not found")
)

// Error describes a failed operation on one key.
type Error struct {
	Op    string // "read", "write", "list"
	Key   Key
	Path  string // full path, for messages
	Class error  // one of the Err* classes above, or nil when unclassified
	Err   error  // the underlying error
}

func (e *Error) Error() string {
	if e.Class != nil {
		return fmt.Sprintf("%s %s: %v (%s: %v)", e.Op, e.Key, e.Class, e.Path, e.Err)
	}
	return fmt.Sprintf("%s %s: %s: %v", e.Op, e.Key, e.Path, e.Err)
}

// Unwrap lets errors.Is match both the class and the underlying errno.
func (e *Error) Unwrap() []error {
	if e.Class != nil {
		return []error{e.Class, e.Err}
	}
	return []error{e.Err}
}

// FS reads and writes sysctls under a root directory.
type FS struct {
	root string
}

// NewFS returns an FS rooted at root; an empty root means DefaultRoot.
func NewFS(root string) *FS {
	if root == "" {
		root = DefaultRoot
	}
	return &FS{root: root}
}

// Root returns the directory this FS reads.
func (f *FS) Root() string { return f.root }

// FullPath returns the absolute path of k under the root, for messages.
func (f *FS) FullPath(k Key) string { return f.root + "/" + k.Path() }

// open opens the root with os.OpenRoot, so a path can never escape it (no
// "..", no symlink pointing out).
func (f *FS) open() (*os.Root, error) {
	r, err := os.OpenRoot(f.root)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNoRoot, f.root, err)
	}
	return r, nil
}

// Read returns the normalised value of k.
func (f *FS) Read(k Key) (Value, error) {
	if k.IsZero() {
		return "", fmt.Errorf("read: %w: zero key", ErrBadKey)
	}
	if v, err, ok := f.readFast(k); ok {
		return v, err
	}
	// Any failure (or a kernel without openat2) takes the os.Root path,
	// which classifies the error.
	r, err := f.open()
	if err != nil {
		return "", err
	}
	defer r.Close()
	// O_NONBLOCK: a FIFO under another root would block open(2) until a
	// writer came; it, a device or a socket is refused before any read.
	file, err := r.OpenFile(k.Path(), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", f.classify("read", k, r, err)
	}
	defer file.Close()
	if err := f.notRegular("read", k, file); err != nil {
		return "", err
	}
	b, err := io.ReadAll(io.LimitReader(file, 1<<20))
	if err != nil {
		return "", f.classify("read", k, r, err)
	}
	return Normalize(string(b)), nil
}

// Write writes v to k. It does not read back; callers that need the kernel's
// verdict (apply does) read after writing.
func (f *FS) Write(k Key, v Value) error {
	if k.IsZero() {
		return fmt.Errorf("write: %w: zero key", ErrBadKey)
	}
	// Re-check the value: Write may be called with a Value built by a cast.
	if _, err := ParseValue(string(v)); err != nil {
		return &Error{Op: "write", Key: k, Path: f.FullPath(k), Class: ErrRejected, Err: err}
	}
	r, err := f.open()
	if err != nil {
		return err
	}
	defer r.Close()
	// procfs refuses writes to a 0444 entry even for root; a fake root on an
	// ordinary file system would not, so check the mode first and behave alike.
	if err := f.checkWritable("write", k, r); err != nil {
		return err
	}
	// No O_CREATE: a missing key is ErrNotPresent, never a new file.
	// O_NONBLOCK, as in Read: never wait for a FIFO's reader.
	file, err := r.OpenFile(k.Path(), os.O_WRONLY|os.O_TRUNC|syscall.O_NONBLOCK, 0)
	if err != nil {
		return f.classify("write", k, r, err)
	}
	if err := f.notRegular("write", k, file); err != nil {
		file.Close()
		return err
	}
	// One write call: procfs parses the whole value from a single write.
	_, werr := file.Write([]byte(string(v) + "\n"))
	cerr := file.Close()
	if werr != nil {
		return f.classify("write", k, r, werr)
	}
	if cerr != nil {
		return f.classify("write", k, r, cerr)
	}
	return nil
}

// Exists reports whether k is present under the root.
func (f *FS) Exists(k Key) (bool, error) {
	if mode, isAbsent, ok := f.modeFast(k); ok {
		return !isAbsent && mode&unix.S_IFMT != unix.S_IFDIR, nil
	}
	r, err := f.open()
	if err != nil {
		return false, err
	}
	defer r.Close()
	st, err := r.Stat(k.Path())
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return false, nil
	}
	if err != nil {
		return false, f.classify("stat", k, r, err)
	}
	return !st.IsDir(), nil
}

// Writable reports whether k exists and looks writable: its mode has a write
// bit. It does not write; the kernel may still refuse a value.
func (f *FS) Writable(k Key) error {
	if mode, isAbsent, ok := f.modeFast(k); ok && !isAbsent && mode&unix.S_IFMT == unix.S_IFREG && mode&0o222 != 0 {
		return nil // the common answer; every other one (and its message) is checkWritable's
	}
	r, err := f.open()
	if err != nil {
		return err
	}
	defer r.Close()
	return f.checkWritable("stat", k, r)
}

// checkWritable stats k under r: a directory is ErrNotPresent, a mode
// without a write bit ErrReadOnly. op names the caller's operation.
func (f *FS) checkWritable(op string, k Key, r *os.Root) error {
	st, err := r.Stat(k.Path())
	if err != nil {
		return f.classify(op, k, r, err)
	}
	if !st.Mode().IsRegular() {
		return f.notRegularErr(op, k, st.Mode())
	}
	if st.Mode().Perm()&0o222 == 0 {
		return &Error{Op: op, Key: k, Path: f.FullPath(k), Class: ErrReadOnly, Err: fmt.Errorf("mode %v", st.Mode().Perm())}
	}
	return nil
}

// List returns every key at or below prefix (all keys for the zero Key),
// sorted by path. Unreadable subdirectories are skipped.
func (f *FS) List(prefix Key) ([]Key, error) {
	r, err := f.open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	start := "."
	if !prefix.IsZero() {
		start = prefix.Path()
	}
	var keys []Key
	err = fs.WalkDir(r.FS(), start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == start {
				return err
			}
			return fs.SkipDir
		}
		if d.IsDir() {
			return nil
		}
		k, perr := ParseKey(p)
		if perr != nil {
			return nil // a file whose name we would not accept as a key
		}
		keys = append(keys, k)
		return nil
	})
	if err != nil {
		return nil, f.classify("list", prefix, r, err)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Compare(keys[j]) < 0 })
	return keys, nil
}

// notRegular refuses an open key that is not a regular file: the kernel's
// /proc/sys holds only files and directories, so under another root a FIFO,
// device or socket is a broken tree, not a key.
func (f *FS) notRegular(op string, k Key, file *os.File) error {
	st, err := file.Stat()
	if err != nil {
		return &Error{Op: op, Key: k, Path: f.FullPath(k), Err: err}
	}
	if st.Mode().IsRegular() {
		return nil
	}
	return f.notRegularErr(op, k, st.Mode())
}

// notRegularErr is the error for a key whose file has mode: a directory is
// ErrNotPresent (a key is never a directory), anything else not regular is
// named by its type.
func (f *FS) notRegularErr(op string, k Key, mode fs.FileMode) error {
	if mode.IsDir() {
		return &Error{Op: op, Key: k, Path: f.FullPath(k), Class: ErrNotPresent, Err: errors.New("is a directory")}
	}
	return &Error{Op: op, Key: k, Path: f.FullPath(k), Err: fmt.Errorf("not a regular file (%v): a sysctl is a file under the root", mode.Type())}
}

// classify maps an OS error to one of the error classes.
func (f *FS) classify(op string, k Key, r *os.Root, err error) error {
	// A socket fails open(2) with ENXIO, as a FIFO's O_WRONLY|O_NONBLOCK
	// open does without a reader: say what the file is.
	if errors.Is(err, syscall.ENXIO) {
		if st, serr := r.Lstat(k.Path()); serr == nil && !st.Mode().IsRegular() && !st.IsDir() {
			return f.notRegularErr(op, k, st.Mode())
		}
	}
	e := &Error{Op: op, Key: k, Path: f.FullPath(k), Err: err}
	var errno syscall.Errno
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		e.Class = ErrNotPresent
	case errors.As(err, &errno) && (errno == syscall.EINVAL || errno == syscall.ERANGE || errno == syscall.EOVERFLOW):
		e.Class = ErrRejected
	case errors.Is(err, syscall.EROFS):
		e.Class = ErrReadOnly
	case errors.Is(err, fs.ErrPermission):
		// procfs returns EACCES to root too when the mode has no write bit:
		// that is read-only, not a missing privilege.
		e.Class = ErrPermission
		if st, serr := r.Stat(k.Path()); serr == nil && st.Mode().Perm()&0o222 == 0 {
			e.Class = ErrReadOnly
		}
	case strings.Contains(err.Error(), "path escapes from parent"):
		e.Class = ErrNotPresent
	}
	return e
}
