package resettrace

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/tcptune/tcptune/doctor"
	"github.com/tcptune/tcptune/netns"
)

// Netns names a network namespace of an event.
type Netns struct {
	Inode uint32 `json:"inode"`
	// Name: "host" for PID 1's namespace, the `ip netns` name when one is
	// bind-mounted under /run/netns, else "net:[INODE]".
	Name string `json:"name"`
}

// NetnsResolver turns a namespace inode into a Netns. It is the one place
// the tracer names namespaces, and it asks the netns package.
var NetnsResolver = defaultNetnsName

func defaultNetnsName(inode uint32) Netns {
	n := Netns{Inode: inode, Name: "net:[" + itoa(uint64(inode)) + "]"}
	if inode == 0 {
		n.Name = "unknown" // tracefs events carry no namespace
		return n
	}
	// Every namespace file is on the one nsfs: this process's gives its
	// device, the event the inode.
	self, err := netns.IDOf("/proc/self/ns/net")
	if err != nil {
		return n
	}
	id := netns.ID{Dev: self.Dev, Ino: uint64(inode)}
	if host, err := netns.IDOf("/proc/1/ns/net"); err == nil && host == id {
		n.Name = "host"
		return n
	}
	if names := netns.Names(id); len(names) > 0 {
		n.Name = names[0]
	}
	return n
}

func statInode(path string) (uint64, bool) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, false
	}
	return st.Ino, true
}

func itoa(v uint64) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}

// Process is who owns (or closed) the socket of a row.
type Process struct {
	// PID and Comm are set only for resets sent from the owner's own
	// system call (close with unread data, SO_LINGER 0).
	PID  uint32 `json:"pid,omitempty"`
	Comm string `json:"comm,omitempty"`
	// Cgroup is the cgroup v2 path of the socket's owner ("/" the root).
	Cgroup string `json:"cgroup,omitempty"`
	// Unit is the systemd unit from the cgroup path (nginx.service).
	Unit string `json:"unit,omitempty"`
	// Container is a container id or machine name from the cgroup path.
	Container string `json:"container,omitempty"`
}

// CgroupRoot is where cgroup v2 is mounted; "" finds it in
// /proc/self/mountinfo (/sys/fs/cgroup, or /sys/fs/cgroup/unified on
// hybrid hosts).
var CgroupRoot = ""

// cgroup2Mount returns the first cgroup2 mount point, "" when none.
func cgroup2Mount() string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS... - FSTYPE SOURCE OPTS
		pre, post, ok := strings.Cut(line, " - ")
		if !ok || !strings.HasPrefix(post, "cgroup2 ") {
			continue
		}
		if f := strings.Fields(pre); len(f) >= 5 {
			return f[4]
		}
	}
	return ""
}

var (
	cgMu    sync.Mutex
	cgPaths map[uint64]string
)

// cgroupPath maps a cgroup id (the kernfs inode of its directory) to its
// path, walking the hierarchy once per process and only when asked.
func cgroupPath(id uint64) (string, bool) {
	if id == 0 {
		return "", false
	}
	cgMu.Lock()
	defer cgMu.Unlock()
	if p, ok := cgPaths[id]; ok {
		return p, true
	}
	if cgPaths != nil {
		return "", false // walked already: the cgroup is gone or new
	}
	cgPaths = map[uint64]string{}
	root := CgroupRoot
	if root == "" {
		root = cgroup2Mount()
	}
	if root == "" {
		return "", false
	}
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if ino, ok := statInode(p); ok {
			rel := strings.TrimPrefix(p, root)
			if rel == "" {
				rel = "/"
			}
			cgPaths[ino] = rel
		}
		return nil
	})
	p, ok := cgPaths[id]
	return p, ok
}

// describeCgroup fills Cgroup, Unit and Container of p from a cgroup path:
// the innermost systemd unit, and the pod, container or machine as doctor
// reads cgroup paths (doctor.OwnerFromCgroup, the one reading).
func describeCgroup(p *Process, path string) {
	p.Cgroup = path
	parts := strings.Split(strings.Trim(path, "/"), "/")
	for i := len(parts) - 1; i >= 0; i-- {
		if s := parts[i]; strings.HasSuffix(s, ".service") || strings.HasSuffix(s, ".scope") {
			p.Unit = s
			break
		}
	}
	switch kind, name, container := doctor.OwnerFromCgroup(path); kind {
	case "pod":
		p.Container = "pod " + name
		if container != "" {
			p.Container += " " + container
		}
	case "container":
		p.Container = name
	case "machine":
		p.Container = "machine " + name
	}
}
