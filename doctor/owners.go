package doctor

import (
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
// looks at: the first 64 of every process, then the next 960, and so on.
// Listening sockets are opened first, so the owner is found in the first
// round even when some process holds 100k connections; a busy process that
// owns none of them costs 64 readlinks, not one per connection.
var ownerWindows = []int{64, 1024, 16384, 1 << 30}

// findOwners maps socket inodes to the process holding them, by reading the
// fd links under procRoot/<pid>/fd. It is best effort: processes we may not
// inspect, or that exit during the walk, are skipped.
//
// The cost does not grow with the number of open connections: processes are
// visited round by round, each round reading the next window of every
// process's fd table (ownerWindows), and the walk stops as soon as every
// wanted inode is found. Within a round the lowest PID holding a socket wins
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
	type proc struct {
		pid  int
		read int // fd entries looked at so far
	}
	procs := make([]proc, 0, len(names))
	for _, n := range names {
		if pid, err := strconv.Atoi(n); err == nil && pid > 0 {
			procs = append(procs, proc{pid: pid})
		}
	}
	slices.SortFunc(procs, func(a, b proc) int { return a.pid - b.pid })
	buf := make([]byte, 64)
	for _, end := range ownerWindows {
		live := procs[:0]
		for _, p := range procs {
			more, n := scanFds(procRoot, p.pid, p.read, end, buf, inodes, found)
			p.read, reads = end, reads+n
			if more && len(found) < len(inodes) {
				live = append(live, p)
			}
			if len(found) == len(inodes) {
				return found, reads
			}
		}
		procs = live
		if len(procs) == 0 {
			break
		}
	}
	return found, reads
}

// scanFds reads fd entries [from, to) of pid's fd directory (in directory
// order: ascending fd numbers on procfs), records the wanted sockets not yet
// found, and reports whether the directory has entries beyond to, and how
// many links it read.
func scanFds(procRoot string, pid, from, to int, buf []byte, inodes map[uint32]bool, found map[uint32]owner) (more bool, reads int) {
	dir, err := os.Open(filepath.Join(procRoot, strconv.Itoa(pid), "fd"))
	if err != nil {
		return false, 0
	}
	defer dir.Close()
	dfd := int(dir.Fd())
	for i := 0; i < to; {
		batch := min(to-i, 256)
		names, err := dir.Readdirnames(batch)
		for _, n := range names {
			if i >= from {
				reads++
				if ino, ok := readSocketInode(dfd, n, buf); ok && inodes[ino] {
					if _, dup := found[ino]; !dup {
						found[ino] = owner{pid: pid, comm: readComm(procRoot, pid)}
					}
				}
			}
			i++
		}
		if err != nil || len(names) < batch {
			return false, reads // io.EOF: the whole table was read
		}
	}
	return true, reads
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
