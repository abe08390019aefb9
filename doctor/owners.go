package doctor

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// owner is a process holding a socket.
type owner struct {
	pid  int
	comm string
}

// findOwners maps socket inodes to the first process (lowest PID) holding
// them, by reading the fd links under procRoot/<pid>/fd. It is best effort:
// processes we may not inspect, or that exit during the walk, are skipped.
// It stops early once every wanted inode is found, so the walk costs at most
// one pass over the fd tables.
func findOwners(procRoot string, inodes map[uint32]bool) map[uint32]owner {
	found := map[uint32]owner{}
	if len(inodes) == 0 {
		return found
	}
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return found
	}
	pids := make([]int, 0, len(entries))
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	// os.ReadDir sorts by name; order numerically so "lowest PID" holds
	// (the master process of nginx and friends, not a worker).
	slices.Sort(pids)
	for _, pid := range pids {
		fdDir := filepath.Join(procRoot, strconv.Itoa(pid), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
			if err != nil {
				continue
			}
			ino, ok := socketInode(link)
			if !ok || !inodes[ino] {
				continue
			}
			if _, dup := found[ino]; dup {
				continue
			}
			found[ino] = owner{pid: pid, comm: readComm(procRoot, pid)}
		}
		if len(found) == len(inodes) {
			break
		}
	}
	return found
}

// socketInode parses "socket:[12345]".
func socketInode(link string) (uint32, bool) {
	s, ok := strings.CutPrefix(link, "socket:[")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, "]")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil
}

func readComm(procRoot string, pid int) string {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "comm"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
