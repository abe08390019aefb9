package sysctl

import (
	"io/fs"

	"golang.org/x/sys/unix"
)

// readFast reads k with openat2(RESOLVE_BENEATH) under the root: the same
// guarantee as os.Root (no "..", no absolute or escaping symlink, no /proc
// magic link) in one system call instead of os.Root's walk of every
// component, and a read into a stack buffer. A diff reads every key of its
// profiles, so this is most of its system calls. It reports false on any
// failure but one, and Read then takes the os.Root path, which classifies
// the error. The one: a key that does not exist (ENOENT, or ENOTDIR for a
// path through a file), classify's ErrNotPresent, answered here because a
// profile's absent keys (conntrack without its module, host-wide keys in a
// container) are common and the general path costs several times more.
func (f *FS) readFast(k Key) (Value, error, bool) {
	dir, err := unix.Open(f.root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, false
	}
	defer unix.Close(dir)
	const flags = unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOCTTY | unix.O_NONBLOCK
	fd, err := openat2(dir, k.Path(), &unix.OpenHow{Flags: flags, Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS})
	if err == unix.ENOSYS && f.root == DefaultRoot {
		// No openat2 (Linux before 5.6, or valgrind, which make bench runs):
		// the kernel's /proc/sys holds only directories and files, and a
		// Key has no "..", no empty and no absolute component, so a plain
		// openat below it cannot leave it. Another root may hold symlinks:
		// it takes the os.Root path.
		fd, err = unix.Openat(dir, k.Path(), flags|unix.O_NOFOLLOW, 0)
	}
	if err == unix.ENOENT || err == unix.ENOTDIR {
		return "", &Error{Op: "read", Key: k, Path: f.FullPath(k), Class: ErrNotPresent,
			Err: &fs.PathError{Op: "openat", Path: k.Path(), Err: err}}, true
	}
	if err != nil {
		return "", nil, false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return "", nil, false // a directory, FIFO or device: let Read's own path say what it is
	}
	var buf [512]byte
	n, err := unix.Read(fd, buf[:])
	if err != nil || n == len(buf) {
		return "", nil, false // an error, or a value longer than the buffer: the general path reads it whole
	}
	return Normalize(string(buf[:n])), nil, true
}

// openat2 is unix.Openat2; a test stands in a kernel without it.
var openat2 = unix.Openat2
