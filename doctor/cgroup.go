package doctor

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// NetnsOwner says who a network namespace belongs to, from the cgroup of a
// process in it: a Kubernetes pod, a container, a systemd-nspawn machine, a
// systemd unit, or just a process.
type NetnsOwner struct {
	// Kind is "pod", "container", "machine", "unit", "ip-netns" or
	// "process"; "" when nothing is known (no process could be read).
	Kind string `json:"kind"`
	// Name is the pod's UID, the container's ID (runtime-prefixed:
	// "docker:0123456789ab"), the machine's or unit's name, or the ip netns
	// name.
	Name string `json:"name,omitempty"`
	// Container is the container within a pod, when the cgroup names it.
	Container string `json:"container,omitempty"`
	// PID and Process are the namespace's first process (lowest PID).
	PID     int    `json:"pid,omitempty"`
	Process string `json:"process,omitempty"`
	// Cgroup is that process's cgroup path.
	Cgroup string `json:"cgroup,omitempty"`
}

// String is a one-phrase description: "pod 1b4e...", "container
// docker:0123456789ab", "machine web", "unit nginx.service", "nginx[42]".
func (o NetnsOwner) String() string {
	proc := ""
	if o.PID != 0 {
		proc = o.Process + "[" + strconv.Itoa(o.PID) + "]"
	}
	switch o.Kind {
	case "", "process":
		if proc == "" {
			return "no process"
		}
		return proc
	case "pod":
		s := "pod " + o.Name
		if o.Container != "" {
			s += " container " + o.Container
		}
		return s
	case "ip-netns":
		return "ip netns " + o.Name
	}
	s := o.Kind + " " + o.Name
	if proc != "" {
		s += ", " + proc
	}
	return s
}

// podUID finds the pod UID in one cgroup path component:
// kubepods-burstable-pod1b4e_..._.slice (systemd driver) or pod1b4e-...
// (cgroupfs driver), the leftmost "pod" followed by 8-4-4-4-12 hex digits
// separated by - or _. Matched by hand, as scopeID: a regexp in tcptune's
// binary makes every command initialise unicode's tables at start-up.
func podUID(p string) (string, bool) {
	for i := 0; ; {
		j := strings.Index(p[i:], "pod")
		if j < 0 {
			return "", false
		}
		i += j + 3
		if u := p[i:]; len(u) >= 36 && isUUIDish(u[:36]) {
			return u[:36], true
		}
	}
}

// isUUIDish reports whether u is 8-4-4-4-12 hex digits (either case) with
// - or _ between the groups.
func isUUIDish(u string) bool {
	for i := 0; i < len(u); i++ {
		switch i {
		case 8, 13, 18, 23:
			if u[i] != '-' && u[i] != '_' {
				return false
			}
		default:
			if c := u[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// scopeID matches a container scope: docker-<id>.scope,
// cri-containerd-<id>.scope, crio-<id>.scope, libpod-<id>.scope (systemd
// driver), or a bare <id> directory, <id> being 64 lower-case hex digits.
// runtime is the prefix without its dash, "" for a bare id.
func scopeID(p string) (runtime, id string, ok bool) {
	s := strings.TrimSuffix(p, ".scope")
	for _, rt := range []string{"docker", "cri-containerd", "crio", "libpod"} {
		if rest, found := strings.CutPrefix(s, rt+"-"); found && isHex64(rest) {
			return rt, rest, true
		}
	}
	if isHex64(s) {
		return "", s, true
	}
	return "", "", false
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// OwnerFromCgroup names the owner of a process from its cgroup path: kind
// "pod" (name the pod UID, container the container in it), "container"
// (name runtime:id), "machine", "unit", or "" when the path names none. It
// is the one reading of cgroup paths: doctor --all-netns and doctor --trace
// both ask it.
func OwnerFromCgroup(path string) (kind, name, container string) { return ownerFromCgroup(path) }

// ownerFromCgroup names the owner from a cgroup path such as
// /kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid>.slice/cri-containerd-<id>.scope.
func ownerFromCgroup(path string) (kind, name, container string) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	inKube := strings.Contains(path, "kubepods")
	for _, p := range parts {
		if inKube {
			if uid, ok := podUID(p); ok {
				name = strings.ReplaceAll(uid, "_", "-")
			}
		}
	}
	// The innermost container scope: podman puts its processes one level
	// below it (libpod-<id>.scope/container).
	for i := len(parts) - 1; i >= 0 && container == ""; i-- {
		runtime, id, ok := scopeID(parts[i])
		if !ok {
			continue
		}
		switch runtime {
		case "":
			runtime = "container"
			if i > 0 && parts[i-1] == "docker" {
				runtime = "docker"
			}
		case "cri-containerd":
			runtime = "containerd"
		case "libpod":
			runtime = "podman"
		}
		container = runtime + ":" + id[:12]
	}
	switch {
	case name != "":
		return "pod", name, container
	case container != "":
		return "container", container, ""
	}
	for i := len(parts) - 1; i >= 0; i-- {
		p := parts[i]
		if m, ok := strings.CutPrefix(p, "machine-"); ok && strings.HasSuffix(p, ".scope") {
			return "machine", unescapeUnit(strings.TrimSuffix(m, ".scope")), ""
		}
		if strings.HasSuffix(p, ".service") || (strings.HasSuffix(p, ".scope") && !strings.HasPrefix(p, "session-")) {
			return "unit", unescapeUnit(p), ""
		}
	}
	return "", "", ""
}

// unescapeUnit undoes systemd's \xNN escaping in unit names ("\x2d" is "-").
func unescapeUnit(s string) string {
	if !strings.Contains(s, `\x`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if n, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// readCgroup returns a process's cgroup path: the unified (v2) line "0::",
// else the v1 name=systemd hierarchy.
func readCgroup(procRoot string, pid int) string {
	f, err := os.Open(filepath.Join(procRoot, strconv.Itoa(pid), "cgroup"))
	if err != nil {
		return ""
	}
	defer f.Close()
	v2, v1 := "", ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		id, rest, _ := strings.Cut(sc.Text(), ":")
		ctrl, path, _ := strings.Cut(rest, ":")
		switch {
		case id == "0" && ctrl == "":
			v2 = path
		case ctrl == "name=systemd":
			v1 = path
		}
	}
	if v2 != "" && v2 != "/" {
		return v2
	}
	if v1 != "" {
		return v1
	}
	return v2
}

// namespaceOwner names the owner of a namespace from its processes
// (ascending PIDs) and ip netns names. The first process whose cgroup names
// a pod, container, machine or unit wins; at most maxOwnerProbes processes
// are read, so the cost does not grow with a namespace's size.
func namespaceOwner(procRoot string, pids []int, names []string) NetnsOwner {
	const maxOwnerProbes = 16
	var o NetnsOwner
	if len(pids) > 0 {
		o = NetnsOwner{Kind: "process", PID: pids[0], Process: readComm(procRoot, pids[0]), Cgroup: readCgroup(procRoot, pids[0])}
	}
	for i, pid := range pids {
		if i == maxOwnerProbes {
			break
		}
		cg := readCgroup(procRoot, pid)
		if kind, name, ctr := ownerFromCgroup(cg); kind != "" && kind != "unit" {
			return NetnsOwner{Kind: kind, Name: name, Container: ctr, PID: pid, Process: readComm(procRoot, pid), Cgroup: cg}
		}
	}
	if len(names) > 0 {
		o.Kind, o.Name = "ip-netns", names[0]
		return o
	}
	if kind, name, _ := ownerFromCgroup(o.Cgroup); kind == "unit" {
		o.Kind, o.Name = kind, name
	}
	return o
}
