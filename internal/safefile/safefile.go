// Package safefile reads and opens the files tcptune finds on disk without
// letting the disk decide how long it waits or how much it reads: a FIFO
// where a file is expected would block open(2) and read(2) forever (holding
// the lock, deaf to SIGTERM), a link to /dev/zero would read until memory
// runs out. Every open is O_NONBLOCK, followed by fstat: anything but a
// regular file is refused, and reads stop at a size limit.
package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"

	"golang.org/x/sys/unix"
)

// ErrNotRegular: the path is a FIFO, device, socket or directory.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge: the file is larger than the caller's limit.
var ErrTooLarge = errors.New("file too large")

// Follow says whether a symlink at the path itself is followed.
type Follow bool

const (
	// FollowLinks follows a symlink (sysctl.d files may be links).
	FollowLinks Follow = true
	// NoFollow refuses a symlink at the last component (ELOOP): files
	// tcptune itself owns (records, audit log, state) are never links.
	NoFollow Follow = false
)

// Open opens path read-only without blocking and returns it only when it is
// a regular file, in blocking mode (O_NONBLOCK has no effect on regular
// files, but would register the *os.File with Go's network poller).
func Open(path string, follow Follow) (*os.File, error) {
	fd, isReg, err := openNonblock(path, follow)
	if err != nil {
		return nil, err
	}
	if isReg {
		// F_SETFL sets only the status flags: 0 clears O_NONBLOCK (and
		// nothing else that Open set).
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, 0); err != nil {
			unix.Close(fd)
			return nil, &fs.PathError{Op: "fcntl", Path: path, Err: err}
		}
	}
	return regular(os.NewFile(uintptr(fd), path), nil)
}

// openNonblock opens path read-only and non-blocking and says whether it is
// a regular file (fstat).
func openNonblock(path string, follow Follow) (fd int, isReg bool, err error) {
	flags := os.O_RDONLY | unix.O_NONBLOCK | unix.O_CLOEXEC
	if follow == NoFollow {
		flags |= unix.O_NOFOLLOW
	}
	// unix.Open, not os.OpenFile: an *os.File made from a non-blocking
	// descriptor is registered with Go's network poller, whose set-up (an
	// epoll instance, an eventfd) every diff and apply paid for reading
	// tuned's one-line active_profile. The file is checked first and handed
	// to os.NewFile in blocking mode.
	fd, err = unix.Open(path, flags, 0)
	for err == unix.EINTR {
		fd, err = unix.Open(path, flags, 0)
	}
	if err != nil {
		err = &fs.PathError{Op: "open", Path: path, Err: err}
		if follow == FollowLinks {
			return -1, false, err // ELOOP here is a loop of links, not a refusal
		}
		_, err = regular(nil, err)
		return -1, false, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, false, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	return fd, st.Mode&unix.S_IFMT == unix.S_IFREG, nil
}

// regular returns f when it is a regular file; otherwise it closes f. A
// symlink refused by O_NOFOLLOW (ELOOP) is reported as ErrNotRegular.
func regular(f *os.File, err error) (*os.File, error) {
	if err != nil {
		var pe *fs.PathError
		if errors.Is(err, unix.ELOOP) && errors.As(err, &pe) {
			return nil, fmt.Errorf("%s: is a symlink; tcptune never follows one here: %w", pe.Path, ErrNotRegular)
		}
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: is a %s: %w", f.Name(), kind(st.Mode()), ErrNotRegular)
	}
	return f, nil
}

// ReadFile reads a regular file of at most limit bytes.
//
// A regular file is read straight from its descriptor (open, fstat, read,
// close): no *os.File, whose set-up and second fstat cost as many system
// calls again for the one-line files diff and apply read. O_NONBLOCK has no
// effect on a regular file's reads.
func ReadFile(path string, limit int64, follow Follow) ([]byte, error) {
	fd, isReg, err := openNonblock(path, follow)
	if err != nil {
		return nil, err
	}
	if !isReg {
		_, err := regular(os.NewFile(uintptr(fd), path), nil) // closes it; says what it is
		return nil, err
	}
	defer unix.Close(fd)
	b := make([]byte, 0, min(limit+1, 512))
	for int64(len(b)) <= limit {
		if len(b) == cap(b) {
			b = slices.Grow(b, int(min(limit+1, int64(2*cap(b))))-len(b))
		}
		n, err := unix.Read(fd, b[len(b):min(cap(b), int(limit+1))])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, &fs.PathError{Op: "read", Path: path, Err: err})
		}
		if n == 0 {
			return b, nil
		}
		b = b[:len(b)+n]
	}
	return nil, fmt.Errorf("%s: larger than %d bytes: %w", path, limit, ErrTooLarge)
}

// OpenAppend opens (creating with perm) a regular file for appending,
// without following a symlink and without blocking on a FIFO.
func OpenAppend(path string, perm fs.FileMode) (*os.File, error) {
	return regular(os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, perm))
}

func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeDevice != 0:
		return "device"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m.IsDir():
		return "directory"
	}
	return m.Type().String()
}

// ReadDirNames lists a directory, unsorted, without blocking: O_DIRECTORY
// makes a FIFO (or any non-directory) at the path fail with ENOTDIR
// instead of opening it.
func ReadDirNames(dir string) ([]string, error) {
	d, err := os.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}
