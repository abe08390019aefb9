package sysctl

import (
	"errors"
	"io/fs"

	"golang.org/x/sys/unix"
)

// The fast paths of Read, Exists and Writable open a key with
// openat2(RESOLVE_BENEATH) under the root: the same guarantee as os.Root (no
// "..", no absolute or escaping symlink, no /proc magic link) in one system
// call instead of os.Root's walk of every component. A diff reads, and an
// apply checks, every key of its profiles, so this is most of their system
// calls. On any failure but one they report false, and the caller takes the
// os.Root path, which classifies the error: the fast path never decides what
// an error means. The one: a key that does not exist (ENOENT, or ENOTDIR for
// a path through a file), classify's ErrNotPresent, answered here because a
// profile's absent keys (conntrack without its module, host-wide keys in a
// container) are common and the general path costs several times more.

// errNoFastPath: the fast path cannot answer; take the os.Root path.
var errNoFastPath = errors.New("no fast path")

// openKey opens k below the root with flags; errNoFastPath when it cannot
// (the root itself did not open, or no openat2 outside /proc/sys), else the
// kernel's errno.
func (f *FS) openKey(k Key, flags int) (int, error) {
	if f.root == DefaultRoot {
		// The kernel's /proc/sys holds only directories and files, and a Key
		// has no "..", no empty and no absolute component: refusing every
		// symlink on the way keeps the open below it, in one system call
		// (no root directory to open first). Should a symlink ever appear
		// there, ELOOP sends the caller to os.Root, which decides.
		p := DefaultRoot + "/" + k.Path()
		fd, err := openat2(unix.AT_FDCWD, p, &unix.OpenHow{Flags: uint64(flags), Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS})
		if err == unix.ENOSYS {
			// No openat2 (Linux before 5.6, or valgrind, which make bench
			// runs): the last component is checked, the others are /proc's.
			fd, err = unix.Open(p, flags|unix.O_NOFOLLOW, 0)
		}
		return fd, err
	}
	dir, err := unix.Open(f.root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, errNoFastPath
	}
	defer unix.Close(dir)
	fd, err := openat2(dir, k.Path(), &unix.OpenHow{Flags: uint64(flags), Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS})
	if err == unix.ENOSYS {
		return -1, errNoFastPath // another root may hold symlinks: os.Root decides
	}
	return fd, err
}

func absent(err error) bool { return err == unix.ENOENT || err == unix.ENOTDIR }

// readFast is Read's fast path.
func (f *FS) readFast(k Key) (Value, error, bool) {
	fd, err := f.openKey(k, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NONBLOCK)
	if absent(err) {
		return "", &Error{Op: "read", Key: k, Path: f.FullPath(k), Class: ErrNotPresent,
			Err: &fs.PathError{Op: "openat", Path: k.Path(), Err: err}}, true
	}
	if err != nil {
		return "", nil, false
	}
	defer unix.Close(fd)
	if f.root != DefaultRoot {
		// Another tree may hold a FIFO (which a non-blocking read would
		// read as empty) or a device: only a regular file is read here.
		// The kernel's /proc/sys holds files and directories only, and a
		// directory fails the read below: no fstat for each key of a diff.
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
			return "", nil, false // a directory, FIFO or device: let Read's own path say what it is
		}
	}
	var buf [512]byte
	n, err := unix.Read(fd, buf[:])
	if err != nil || n == len(buf) {
		return "", nil, false // an error, or a value longer than the buffer: the general path reads it whole
	}
	return Normalize(string(buf[:n])), nil, true
}

// modeFast is the fast path of Exists and Writable: k's file mode, or
// absent; ok false when the os.Root path must answer.
func (f *FS) modeFast(k Key) (mode uint32, isAbsent, ok bool) {
	fd, err := f.openKey(k, unix.O_PATH|unix.O_CLOEXEC)
	if absent(err) {
		return 0, true, true
	}
	if err != nil {
		return 0, false, false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return 0, false, false
	}
	return st.Mode, false, true
}

// openat2 is unix.Openat2; a test stands in a kernel without it.
var openat2 = unix.Openat2
