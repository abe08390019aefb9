package netns

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// Namespace is one network namespace found on the machine.
type Namespace struct {
	ID ID `json:"id"`
	// Path is a file that enters it: /run/netns/NAME when it has a name,
	// else /proc/PID/ns/net of its lowest PID.
	Path string `json:"path"`
	// Names are its `ip netns` names (bind mounts under /run/netns).
	Names []string `json:"names,omitempty"`
	// PIDs are the processes in it, ascending; empty for an `ip netns`
	// namespace no process runs in.
	PIDs []int `json:"pids,omitempty"`
}

// Target returns the namespace as a Target for Do and Exec.
func (n Namespace) Target() Target {
	t := Target{Arg: n.Path, Path: n.Path}
	if len(n.Names) > 0 {
		t.Name = n.Names[0]
	}
	return t
}

// List finds every network namespace on the machine, each once, from the
// processes' /proc/PID/ns/net and the names under /run/netns, ordered by
// lowest PID (named namespaces without processes last). unreadable counts
// the processes whose namespace could not be read (another user's, without
// CAP_SYS_PTRACE, or exited during the walk): the list may then miss some.
// The cost is one stat per process, not per socket.
func List() (out []Namespace, unreadable int, err error) { return list(procRoot, RunDir) }

func list(proc, runDir string) ([]Namespace, int, error) {
	entries, err := os.ReadDir(proc)
	if err != nil {
		return nil, 0, err
	}
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	byID := map[ID]*Namespace{}
	var order []ID
	unreadable := 0
	for _, pid := range pids {
		p := filepath.Join(proc, strconv.Itoa(pid), "ns/net")
		id, err := IDOf(p)
		if err != nil {
			if _, serr := os.Stat(filepath.Join(proc, strconv.Itoa(pid))); serr == nil {
				unreadable++ // not merely exited
			}
			continue
		}
		n, ok := byID[id]
		if !ok {
			n = &Namespace{ID: id, Path: p}
			byID[id] = n
			order = append(order, id)
		}
		n.PIDs = append(n.PIDs, pid)
	}
	if names, err := os.ReadDir(runDir); err == nil {
		for _, e := range names {
			p := filepath.Join(runDir, e.Name())
			id, err := IDOf(p)
			if err != nil {
				continue // a leftover file that is not a mount
			}
			n, ok := byID[id]
			if !ok {
				n = &Namespace{ID: id}
				byID[id] = n
				order = append(order, id)
			}
			n.Names = append(n.Names, e.Name())
			n.Path = filepath.Join(runDir, n.Names[0])
		}
	}
	out := make([]Namespace, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	return out, unreadable, nil
}

// Names returns the `ip netns` names of the namespace id, if any.
func Names(id ID) []string {
	var out []string
	entries, err := os.ReadDir(RunDir)
	if err != nil {
		return nil
	}
	for _, e := range entries {
		if got, err := IDOf(filepath.Join(RunDir, e.Name())); err == nil && got == id {
			out = append(out, e.Name())
		}
	}
	return out
}
