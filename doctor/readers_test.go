package doctor

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fixtureTree builds a proc tree in a temp dir: root/thread-self ->
// 1/task/1, with the files of testdata/<set> in root/1/task/1/net. Only the
// named files are copied (all when none are named).
func fixtureTree(t *testing.T, set string, only ...string) string {
	t.Helper()
	root := t.TempDir()
	net := filepath.Join(root, "1", "task", "1", "net")
	if err := os.MkdirAll(net, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("1/task/1", filepath.Join(root, "thread-self")); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join("testdata", set))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if len(only) > 0 && !contains(only, e.Name()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join("testdata", set, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(net, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func mustLocate(t *testing.T, root string) procDir {
	t.Helper()
	d, err := locateProcDir(root)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestReadTCPExt(t *testing.T) {
	tests := []struct {
		set  string
		want Counters
	}{
		{"linux-6.18", Counters{
			ListenOverflows: 1234, ListenDrops: 1240, EmbryonicRsts: 17, TCPReqQFullDrop: 7, TCPReqQFullDoCookies: 3,
			SyncookiesSent: 3, SyncookiesRecv: 0, SyncookiesFailed: 0, TCPTimeWaitOverflow: 0, TCPAbortOnMemory: 2,
			TCPMemoryPressures: 5, TCPAbortOnData: 1, TCPAbortOnClose: 0, TCPAbortOnTimeout: 0, TCPAbortOnLinger: 0,
			TCPSynRetrans: 0,
		}},
		// Linux 2.6.32 has no TCPReqQFull* nor TCPTimeWaitOverflow: they
		// must be absent, not zero.
		{"linux-2.6.32", Counters{
			ListenOverflows: 88, ListenDrops: 88, EmbryonicRsts: 5, SyncookiesSent: 0, SyncookiesRecv: 0,
			SyncookiesFailed: 0, TCPAbortOnMemory: 0, TCPMemoryPressures: 0, TCPAbortOnData: 0, TCPAbortOnClose: 0,
			TCPAbortOnTimeout: 0, TCPAbortOnLinger: 0, // no TCPSynRetrans before Linux 3.x: absent
		}},
	}
	for _, tt := range tests {
		t.Run(tt.set, func(t *testing.T) {
			got, err := readTCPExt(mustLocate(t, fixtureTree(t, tt.set)))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("TcpExt (-want +got):\n%s", d)
			}
		})
	}
}

func TestReadTCP(t *testing.T) {
	tests := []struct {
		set  string
		want Counters
	}{
		{"linux-6.18", Counters{OutRsts: 99, EstabResets: 4, CurrEstab: 12}},
		{"linux-2.6.32", Counters{OutRsts: 31, EstabResets: 11, CurrEstab: 6}}, // no InCsumErrors column
	}
	for _, tt := range tests {
		t.Run(tt.set, func(t *testing.T) {
			got, err := readTCP(mustLocate(t, fixtureTree(t, tt.set)))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("Tcp (-want +got):\n%s", d)
			}
		})
	}
}

func ip(n int) *int { return &n }

func TestReadSockstat(t *testing.T) {
	tests := []struct {
		set  string
		want Sockstat
	}{
		{"linux-6.18", Sockstat{InUse: ip(310), Orphan: ip(4), TW: ip(2711), Alloc: ip(322), Mem: ip(57)}},
		{"linux-2.6.32", Sockstat{InUse: ip(9), Orphan: ip(0), TW: ip(3), Alloc: ip(11), Mem: ip(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.set, func(t *testing.T) {
			got, err := readSockstat(mustLocate(t, fixtureTree(t, tt.set)))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("sockstat (-want +got):\n%s", d)
			}
		})
	}
}

func TestReadSoftnet(t *testing.T) {
	tests := []struct {
		set  string
		want Softnet
	}{
		{"linux-6.18", Softnet{CPUs: 2, Dropped: 0x2a, TimeSqueezed: 0x11 + 0x05, Processed: 0xa3f2c1 + 0xb80e04}},
		{"linux-2.6.32", Softnet{CPUs: 2, Dropped: 3, TimeSqueezed: 9 + 2, Processed: 0xc81d + 0x3a11}}, // 9 columns
	}
	for _, tt := range tests {
		t.Run(tt.set, func(t *testing.T) {
			got, err := readSoftnet(mustLocate(t, fixtureTree(t, tt.set)))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("softnet (-want +got):\n%s", d)
			}
		})
	}
}

func TestReadersRejectBrokenFiles(t *testing.T) {
	d := mustLocate(t, fixtureTree(t, "broken"))
	readers := map[string]func() error{
		"netstat":      func() error { _, err := readTCPExt(d); return err },
		"snmp":         func() error { _, err := readTCP(d); return err },
		"sockstat":     func() error { _, err := readSockstat(d); return err },
		"softnet_stat": func() error { _, err := readSoftnet(d); return err },
	}
	for file, read := range readers {
		err := read()
		if err == nil {
			t.Errorf("%s: broken file accepted", file)
			continue
		}
		if !strings.Contains(err.Error(), filepath.Join("net", file)) {
			t.Errorf("%s: error does not name the file: %v", file, err)
		}
	}
}

func TestCollect(t *testing.T) {
	t.Run("missing files are unavailable, not zero", func(t *testing.T) {
		s, err := Collect(Source{ProcRoot: fixtureTree(t, "linux-6.18", "netstat")})
		if err != nil {
			t.Fatal(err)
		}
		if s.TCPExt == nil || s.TCP != nil || s.Sockstat != nil || s.Softnet != nil || s.ListenersRead {
			t.Errorf("got TCPExt=%v TCP=%v Sockstat=%v Softnet=%v ListenersRead=%v", s.TCPExt != nil, s.TCP != nil, s.Sockstat != nil, s.Softnet != nil, s.ListenersRead)
		}
		var srcs []string
		for _, u := range s.Unavailable {
			srcs = append(srcs, u.Source)
		}
		if d := cmp.Diff([]string{"listeners", "snmp", "sockstat", "softnet_stat"}, srcs); d != "" {
			t.Errorf("unavailable (-want +got):\n%s", d)
		}
	})
	t.Run("broken file is an error", func(t *testing.T) {
		if _, err := Collect(Source{ProcRoot: fixtureTree(t, "broken", "sockstat")}); err == nil {
			t.Error("broken sockstat accepted")
		}
	})
	t.Run("no proc root", func(t *testing.T) {
		_, err := Collect(Source{ProcRoot: filepath.Join(t.TempDir(), "nope")})
		if err == nil || !strings.Contains(err.Error(), "nope") {
			t.Errorf("want an error naming the root, got %v", err)
		}
	})
}

func TestLocateProcDir(t *testing.T) {
	root := t.TempDir()
	if _, err := locateProcDir(root); err == nil {
		t.Error("tree without thread-self or self accepted")
	}
	// Kernels before 3.17 have no thread-self: self -> <tgid>.
	if err := os.Symlink("42", filepath.Join(root, "self")); err != nil {
		t.Fatal(err)
	}
	d, err := locateProcDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if d.mount != root || d.pid != 42 {
		t.Errorf("self fallback: got %+v", d)
	}
	if err := os.Symlink("42/task/43", filepath.Join(root, "thread-self")); err != nil {
		t.Fatal(err)
	}
	if d, _ := locateProcDir(root); d.mount != filepath.Join(root, "42", "task") || d.pid != 43 {
		t.Errorf("thread-self: got %+v", d)
	}
	bad := t.TempDir()
	if err := os.Symlink("/etc/passwd", filepath.Join(bad, "thread-self")); err != nil {
		t.Fatal(err)
	}
	if _, err := locateProcDir(bad); err == nil {
		t.Error("absolute thread-self link accepted")
	}
}

// procTree returns a fake proc root and a func that adds a process with
// comm and fd links (fd 3, 4, ...) to it.
func procTree(t *testing.T) (string, func(pid, comm string, links ...string)) {
	root := t.TempDir()
	return root, func(pid, comm string, links ...string) {
		dir := filepath.Join(root, pid, "fd")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, pid, "comm"), []byte(comm+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		for i, l := range links {
			if err := os.Symlink(l, filepath.Join(dir, strconv.Itoa(3+i))); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestFindOwners(t *testing.T) {
	root, mk := procTree(t)
	mk("1000", "nginx", "socket:[555]") // a worker sharing the socket
	mk("200", "nginx", "pipe:[9]", "socket:[555]")
	mk("300", "sshd", "socket:[777]")
	mk("self", "ignored", "socket:[777]")
	got := findOwners(root, map[uint32]bool{555: true, 777: true, 999: true})
	want := map[uint32]owner{555: {pid: 200, comm: "nginx"}, 777: {pid: 300, comm: "sshd"}}
	if d := cmp.Diff(want, got, cmp.AllowUnexported(owner{})); d != "" {
		t.Errorf("owners (-want +got):\n%s", d)
	}
}

func TestSocketInode(t *testing.T) {
	for link, want := range map[string]int64{"socket:[12345]": 12345, "socket:[]": -1, "pipe:[1]": -1, "socket:[1": -1, "socket:[99999999999]": -1} {
		n, ok := socketInode(link)
		if (want < 0) == ok || (ok && int64(n) != want) {
			t.Errorf("socketInode(%q) = %d, %v", link, n, ok)
		}
	}
}

// TestFindOwnersCostBoundedByWindows: a process with many fds that owns
// none of the wanted sockets is read one window at a time, so an owner found
// in the first round stops the walk before the busy process's whole fd table
// is read; a socket among a busy process's fds is still found (in whichever
// round reaches it).
func TestFindOwnersCostBoundedByWindows(t *testing.T) {
	old := ownerWindows
	ownerWindows = []int{4, 1 << 30}
	defer func() { ownerWindows = old }()
	root, mk := procTree(t)
	busy := make([]string, 500)
	for i := range busy {
		busy[i] = "socket:[" + strconv.Itoa(10000+i) + "]" // established connections
	}
	mk("100", "loadgen", busy...)
	mk("200", "server", "socket:[555]")
	got, reads := findOwnersCounted(root, map[uint32]bool{555: true})
	if o := got[555]; o.pid != 200 || o.comm != "server" {
		t.Fatalf("owner of 555 = %+v, want pid 200 server", o)
	}
	if reads > 4+1 {
		t.Errorf("read %d fd links; want at most one window of the busy process plus the owner's (5)", reads)
	}
	// The wanted socket among the busy process's fds: found in round two.
	busy[len(busy)-1] = "socket:[777]"
	mk("300", "busy2", busy...)
	got = findOwners(root, map[uint32]bool{555: true, 777: true})
	if got[777].pid != 300 || got[555].pid != 200 {
		t.Fatalf("owners = %+v", got)
	}
}
