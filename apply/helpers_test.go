package apply

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tcptune/tcptune/internal/fakeroot"
	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

// stock are a stock kernel's values, normalised (one space), so that a
// restore through sysctl.FS gives byte-identical files on the fake root.
var stock = map[string]string{
	"net.core.somaxconn":                  "4096",
	"net.core.netdev_max_backlog":         "1000",
	"net.core.rmem_max":                   "212992",
	"net.core.wmem_max":                   "212992",
	"net.ipv4.tcp_max_syn_backlog":        "2048",
	"net.ipv4.ip_local_port_range":        "32768 60999",
	"net.ipv4.ip_unprivileged_port_start": "1024",
	"net.ipv4.tcp_tw_reuse":               "2",
	"net.ipv4.tcp_abort_on_overflow":      "1",
	"net.ipv4.tcp_rmem":                   "4096 131072 6291456",
	"net.ipv4.tcp_wmem":                   "4096 16384 4194304",
	"net.ipv4.tcp_syncookies":             "0",
	"net.ipv4.tcp_syn_retries":            "6",
	"net.ipv4.tcp_synack_retries":         "5",
	"net.ipv4.tcp_fin_timeout":            "60",
	"net.ipv4.tcp_keepalive_time":         "7200",
	"net.ipv4.tcp_keepalive_intvl":        "75",
	"net.ipv4.tcp_keepalive_probes":       "9",
}

// txEnv is a fake root plus every directory apply touches, all in a temp dir.
type txEnv struct {
	dir  string
	fs   *sysctl.FS
	opts Options
}

func newTxEnv(t *testing.T, vals map[string]string) *txEnv {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "proc-sys")
	must(t, fakeroot.Write(root, vals))
	fs := sysctl.NewFS(root)
	e := &txEnv{dir: dir, fs: fs}
	e.opts = Options{
		FS:         fs,
		Netns:      netns.Initial,
		StateDir:   filepath.Join(dir, "state"),
		PersistDir: filepath.Join(dir, "etc/sysctl.d"),
		SearchDirs: []string{filepath.Join(dir, "etc/sysctl.d"), filepath.Join(dir, "run/sysctl.d"), filepath.Join(dir, "usr/lib/sysctl.d")},
		SysctlConf: filepath.Join(dir, "etc/sysctl.conf"),
		Version:    "test",
		Now:        func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) },
	}
	return e
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// tree returns every file under dir with its bytes ("" dir: the fake root).
func tree(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if os.IsNotExist(err) && p == dir {
			return filepath.SkipDir
		}
		if err != nil || d.IsDir() {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			l, _ := os.Readlink(p)
			out[p] = "symlink:" + l
			return nil
		}
		b, err := os.ReadFile(p)
		out[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func builtin(t testing.TB, names ...string) *profiles.Resolved {
	t.Helper()
	r, err := (&profiles.Loader{}).Resolve(names...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func profileFile(t testing.TB, body string) *profiles.Resolved {
	t.Helper()
	p := filepath.Join(t.TempDir(), "p.yaml")
	must(t, os.WriteFile(p, []byte(body), 0o644))
	r, err := (&profiles.Loader{}).Resolve(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// faultIO wraps an FS: write number failAt is refused like the kernel's
// EINVAL; write number rewriteAt succeeds but stores another value, like a
// kernel that clamps. Writes are counted from 1.
type faultIO struct {
	*sysctl.FS
	mu                sync.Mutex
	n                 int
	failAt, rewriteAt int
	writes            []sysctl.Key
}

func (f *faultIO) Write(k sysctl.Key, v sysctl.Value) error {
	f.mu.Lock()
	f.n++
	n := f.n
	f.writes = append(f.writes, k)
	f.mu.Unlock()
	switch n {
	case f.failAt:
		return &sysctl.Error{Op: "write", Key: k, Path: f.FullPath(k), Class: sysctl.ErrRejected, Err: syscall.EINVAL}
	case f.rewriteAt:
		fields := v.Fields()
		fields[len(fields)-1] = "1" + fields[len(fields)-1]
		return f.FS.Write(k, sysctl.Value(strings.Join(fields, " ")))
	}
	return f.FS.Write(k, v)
}

// loadID decodes one record by id, with its marks.
func (s store) loadID(id string) (*Record, error) {
	l, err := s.scan()
	if err != nil {
		return nil, err
	}
	e := l.find(id)
	if e == nil {
		return nil, os.ErrNotExist
	}
	return s.load(e)
}

// list decodes every record, oldest first; a corrupt one is an error.
func (s store) list() ([]*Record, error) {
	l, err := s.scan()
	if err != nil {
		return nil, err
	}
	var out []*Record
	for _, e := range l.entries {
		r, err := s.load(e)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
