package doctor

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// owner is a process holding a socket.
type owner struct {
	pid  int
	comm string
}

// ownerWindows bound how many fds of each process one round of findOwners
// looks at: the first 16 of every process, then up to 256, and so on.
// Listening sockets are opened early (nginx, Go servers, systemd socket
// activation: fd 3 to 10), so the owner is usually found in the first round
// even when some process holds 100k connections; a busy process that owns
// none of them costs 16 getdents entries and readlinks, not one per
// connection. A listener opened late (after hundreds of files) is found in a
// later round.
var ownerWindows = []int{16, 256, 4096, 1 << 30}

// findOwners maps socket inodes to the process holding them, by reading the
// fd links under procRoot/<pid>/fd. It is best effort: processes we may not
// inspect, or that exit during the walk, are skipped.
//
// The cost does not grow with the number of open connections: processes are
// visited round by round, each round reading the next window of every
// process's fd table (ownerWindows) with getdents64 into a buffer sized to
// the window (the kernel instantiates a /proc entry for every fd it
// returns), and the walk stops as soon as every wanted inode is found. A
// listener no visible process holds (another PID namespace) still makes the
// walk read every fd table once, as before. Within a round the lowest PID holding a socket wins
// (the master process of nginx and friends, not a worker: they share the fd
// number). No path is built and nothing is sorted per fd: each fd link is
// read with readlinkat(2) relative to its directory.
func findOwners(procRoot string, inodes map[uint32]bool) map[uint32]owner {
	found, _ := findOwnersCounted(procRoot, inodes)
	return found
}

// findOwnersCounted is findOwners, also returning how many fd links it read
// (what its cost is made of).
func findOwnersCounted(procRoot string, inodes map[uint32]bool) (map[uint32]owner, int) {
	found := map[uint32]owner{}
	reads := 0
	if len(inodes) == 0 {
		return found, reads
	}
	d, err := os.Open(procRoot)
	if err != nil {
		return found, reads
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	procs := make([]fdCursor, 0, len(names))
	for _, n := range names {
		if pid, err := strconv.Atoi(n); err == nil && pid > 0 {
			procs = append(procs, fdCursor{pid: pid})
		}
	}
	slices.SortFunc(procs, func(a, b fdCursor) int { return a.pid - b.pid })
	s := fdScan{procRoot: procRoot, inodes: inodes, found: found, link: make([]byte, 64), dirents: make([]byte, 8192)}
	read := 0
	for _, end := range ownerWindows {
		live := procs[:0]
		for _, p := range procs {
			if s.scan(&p, end-read) {
				live = append(live, p)
			}
			if len(found) == len(inodes) {
				return found, s.reads
			}
		}
		procs, read = live, end
		if len(procs) == 0 {
			break
		}
	}
	return found, s.reads
}

// fdCursor is how far findOwners has read one process's fd directory.
type fdCursor struct {
	pid int
	off int64 // directory offset of the next entry (lseek(2) cookie)
}

// fdScan is one findOwners walk: what it looks for, what it found, and its
// buffers, reused for every process.
type fdScan struct {
	procRoot string
	inodes   map[uint32]bool
	found    map[uint32]owner
	link     []byte // readlinkat target
	dirents  []byte // getdents64 buffer
	reads    int
}

// dirent64Size is the most a getdents64 record for an fd number takes
// (19-byte header, up to 10 digits and a NUL, 8-byte aligned): the buffer is
// sized to the entries wanted, so the kernel does not instantiate a whole
// 8 KiB of /proc/PID/fd entries to return a few.
const dirent64Size = 32

// scan reads up to n more entries of p's fd directory, records the wanted
// sockets not yet found, and reports whether the directory has more.
func (s *fdScan) scan(p *fdCursor, n int) bool {
	dfd, err := unix.Open(filepath.Join(s.procRoot, strconv.Itoa(p.pid), "fd"), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(dfd)
	if p.off != 0 {
		if _, err := unix.Seek(dfd, p.off, io.SeekStart); err != nil {
			return false
		}
	}
	for n > 0 {
		buf := s.dirents[:min(len(s.dirents), max(n*dirent64Size, 512))]
		got, err := unix.Getdents(dfd, buf)
		if err != nil || got <= 0 {
			return false // 0: the end of the directory
		}
		for b := buf[:got]; len(b) >= 19 && n > 0; {
			reclen := int(binary.NativeEndian.Uint16(b[16:18]))
			if reclen < 19 || reclen > len(b) {
				return false
			}
			name := b[19:reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			p.off = int64(binary.NativeEndian.Uint64(b[8:16]))
			b = b[reclen:]
			if len(name) == 0 || name[0] == '.' {
				continue
			}
			n--
			s.reads++
			if ino, ok := readSocketInode(dfd, string(name), s.link); ok && s.inodes[ino] {
				if _, dup := s.found[ino]; !dup {
					s.found[ino] = owner{pid: p.pid, comm: readComm(s.procRoot, p.pid)}
				}
			}
		}
	}
	return true
}

// readSocketInode reads the fd link name in the directory dfd and returns
// the inode of a "socket:[N]" target.
func readSocketInode(dfd int, name string, buf []byte) (uint32, bool) {
	n, err := unix.Readlinkat(dfd, name, buf)
	if err != nil || n == len(buf) {
		return 0, false
	}
	return socketInodeBytes(buf[:n])
}

// socketInode parses "socket:[12345]".
func socketInode(link string) (uint32, bool) { return socketInodeBytes([]byte(link)) }

// socketInodeBytes is socketInode on the bytes readlink returned, without
// making a string of every fd's link.
func socketInodeBytes(b []byte) (uint32, bool) {
	const prefix = "socket:["
	if len(b) < len(prefix)+2 || string(b[:len(prefix)]) != prefix || b[len(b)-1] != ']' {
		return 0, false
	}
	var n uint64
	for _, c := range b[len(prefix) : len(b)-1] {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n = n*10 + uint64(c-'0'); n > 1<<32-1 {
			return 0, false
		}
	}
	return uint32(n), true
}

func readComm(procRoot string, pid int) string {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "comm"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
