package doctor

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultProcRoot is the real proc mount; --proc-root points elsewhere for
// fixture trees.
const DefaultProcRoot = "/proc"

// procDir locates the per-task proc directory of the calling thread under a
// proc root: root/<dir>/<pid>, whose net/ subdirectory shows the network
// namespace of that task (fs/proc/proc_net.c, get_proc_task_net), not of the
// thread group leader as /proc/net does.
type procDir struct {
	mount string // directory holding <pid>
	pid   int
}

// taskPath returns mount/<pid>.
func (d procDir) taskPath() string { return filepath.Join(d.mount, strconv.Itoa(d.pid)) }

// netPath returns the path of a file under the task's net/ directory, for
// messages.
func (d procDir) netPath(name string) string { return filepath.Join(d.taskPath(), "net", name) }

// locateProcDir resolves root/thread-self (Linux 3.17+, a link to
// "<tgid>/task/<tid>") or, on older kernels and in fixture trees without it,
// root/self (a link to "<tgid>"). Call it on the thread whose namespace
// matters; the result names that task and stays valid from any thread.
func locateProcDir(root string) (procDir, error) {
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return procDir{}, fmt.Errorf("proc root %s: not a directory (is procfs mounted?)", root)
	}
	var firstErr error
	for _, name := range []string{"thread-self", "self"} {
		link, err := os.Readlink(filepath.Join(root, name))
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		pid, err := strconv.Atoi(path.Base(link))
		if err != nil || pid <= 0 || strings.HasPrefix(link, "/") {
			return procDir{}, fmt.Errorf("proc root %s: unexpected %s link %q", root, name, link)
		}
		return procDir{mount: filepath.Join(root, path.Dir(link)), pid: pid}, nil
	}
	return procDir{}, fmt.Errorf("proc root %s: no thread-self or self link: %w", root, firstErr)
}
