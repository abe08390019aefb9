package netns

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	for _, c := range []struct{ arg, path, name string }{
		{"web", "/run/netns/web", "web"},
		{"/run/netns/web", "/run/netns/web", "web"},
		{"/run/netns/../netns/web", "/run/netns/web", "web"},
		{"/proc/42/ns/net", "/proc/42/ns/net", ""},
		{"42", "/proc/42/ns/net", ""},
		{"0042", "/run/netns/0042", "0042"}, // not a canonical PID: a name
	} {
		got, err := Resolve(c.arg)
		if err != nil || got.Path != c.path || got.Name != c.name {
			t.Errorf("Resolve(%q) = %+v, %v; want path %s name %q", c.arg, got, err, c.path, c.name)
		}
	}
	for _, bad := range []string{"", ".", ".."} {
		if _, err := Resolve(bad); !errors.Is(err, ErrBadName) {
			t.Errorf("Resolve(%q): %v, want ErrBadName", bad, err)
		}
	}
}

// tree builds a fake sysctl root with net/core files of the given modes.
func tree(t *testing.T, files map[string]os.FileMode) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "net/core"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, mode := range files {
		p := filepath.Join(root, "net/core", name)
		if err := os.WriteFile(p, []byte("1\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestFacts(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]os.FileMode
		want  Kind
	}{
		{"initial", map[string]os.FileMode{"netdev_max_backlog": 0o644, "rmem_max": 0o644, "somaxconn": 0o644}, Initial},
		{"child: no netdev_max_backlog", map[string]os.FileMode{"rmem_max": 0o444, "somaxconn": 0o644}, Child},
		{"child: old kernel without rmem_max", map[string]os.FileMode{"somaxconn": 0o644}, Child},
		{"child: rmem_max read-only wins", map[string]os.FileMode{"netdev_max_backlog": 0o644, "rmem_max": 0o444}, Child},
	} {
		got, why := facts(tree(t, c.files))
		if got != c.want || why == "" {
			t.Errorf("%s: facts = %v (%s), want %v", c.name, got, why, c.want)
		}
	}
	if got, _ := facts(t.TempDir()); got != Unknown {
		t.Errorf("no net/core: %v, want unknown", got)
	}
}

// TestDetectTiebreak: PID 1 decides only when the facts are silent.
func TestDetectTiebreak(t *testing.T) {
	proc := t.TempDir() // no ns links: InitShares unknown
	h := detect(t.TempDir(), proc)
	if h.Kind != Unknown || h.InitShares != TriUnknown {
		t.Errorf("no facts, no /proc: %+v, want unknown", h)
	}
	// PID 1's ns link unreadable (as here, and in a sandboxed service): the
	// per-namespace /proc/net entries decide.
	if got := sameProcNet(proc); got != TriUnknown {
		t.Errorf("sameProcNet without /proc entries = %v, want unknown", got)
	}
	if self, err1 := os.Stat("/proc/self/net/dev"); err1 == nil {
		if init, err2 := os.Stat("/proc/1/net/dev"); err2 == nil {
			want := TriNo
			if os.SameFile(self, init) {
				want = TriYes
			}
			if got := sameProcNet("/proc"); got != want {
				t.Errorf("sameProcNet(/proc) = %v, want %v", got, want)
			}
		}
	}
	h = detect(tree(t, map[string]os.FileMode{"somaxconn": 0o644}), "/proc")
	if h.Kind != Child {
		t.Errorf("facts say child: %+v", h)
	}
}

// TestDetectKindIsDetectsKind: the kind alone is Detect's kind, whether the
// facts decide or PID 1 breaks the tie; when the facts decide, /proc is not
// asked (a /proc that would say otherwise changes nothing).
func TestDetectKindIsDetectsKind(t *testing.T) {
	for _, root := range []string{
		tree(t, map[string]os.FileMode{"netdev_max_backlog": 0o644, "rmem_max": 0o644, "somaxconn": 0o644}),
		tree(t, map[string]os.FileMode{"rmem_max": 0o444, "somaxconn": 0o644}),
		tree(t, map[string]os.FileMode{"netdev_max_backlog": 0o644, "rmem_max": 0o444}),
		t.TempDir(), // no facts: the tiebreak
	} {
		for _, proc := range []string{"/proc", t.TempDir()} {
			if got, want := detectKind(root, proc), detect(root, proc).Kind; got != want {
				t.Errorf("detectKind(%s, %s) = %v, Detect says %v", root, proc, got, want)
			}
		}
	}
	// The facts are silent here, so the tiebreak is asked, of a /proc with
	// ns entries (not nsfs, so unreadable as namespaces): what Detect says.
	proc := t.TempDir()
	for _, d := range []string{"thread-self/ns", "1/ns"} {
		if err := os.MkdirAll(filepath.Join(proc, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(proc, "thread-self/ns/net"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(proc, "thread-self/ns/net"), filepath.Join(proc, "1/ns/net")); err != nil {
		t.Fatal(err)
	}
	if got, want := detectKind(t.TempDir(), proc), detect(t.TempDir(), proc).Kind; got != want {
		t.Errorf("tiebreak: detectKind = %v, Detect says %v", got, want)
	}
}

func TestPersistDefault(t *testing.T) {
	for _, c := range []struct {
		h    Here
		want bool
	}{
		{Here{Kind: Initial}, true},
		{Here{Kind: Child, InitShares: TriYes}, true}, // booted container
		{Here{Kind: Child, InitShares: TriNo}, false}, // ip netns exec
		{Here{Kind: Child}, false},                    // could not tell
		{Here{Kind: Unknown, InitShares: TriYes}, false},
	} {
		ok, why := c.h.PersistDefault()
		if ok != c.want || (!ok && why == "") {
			t.Errorf("%+v: PersistDefault = %v %q, want %v (and a reason for no)", c.h, ok, why, c.want)
		}
	}
}

func TestTokenRoundTrip(t *testing.T) {
	id := ID{Dev: 4, Ino: 4026531833}
	got, err := parseToken(id.token())
	if err != nil || got != id {
		t.Fatalf("parseToken(%q) = %v, %v", id.token(), got, err)
	}
	if _, err := parseToken("net:[1]"); err == nil {
		t.Error("parseToken accepted a link text")
	}
}

// TestSelfAndList: the process's own namespace is listed once, with this
// process in it.
func TestSelfAndList(t *testing.T) {
	self, err := Self()
	if err != nil {
		t.Skip(err)
	}
	nss, _, err := List()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, n := range nss {
		if n.ID == self {
			seen++
			found := false
			for _, p := range n.PIDs {
				found = found || p == os.Getpid()
			}
			if !found {
				t.Errorf("own namespace %s listed without this PID: %v", self, n.PIDs)
			}
		}
	}
	if seen != 1 {
		t.Errorf("own namespace listed %d times", seen)
	}
	if _, err := IDOf(t.TempDir()); err == nil {
		t.Error("IDOf accepted a directory")
	}
	f := filepath.Join(t.TempDir(), "stale")
	os.WriteFile(f, nil, 0o644)
	if _, err := IDOf(f); err == nil {
		t.Error("IDOf accepted a plain file (a stale /run/netns name)")
	}
}

func TestEnvValue(t *testing.T) {
	block := []byte("HOME=/root\x00TCPTUNE_NETNS_ID=1:2\x00TCPTUNE_NETNS=/run/netns/a\x00TCPTUNE_NETNS=/second\x00EMPTY=\x00LAST=x")
	for name, want := range map[string]string{
		"TCPTUNE_NETNS":    "/run/netns/a", // the first entry wins, not the longer name sharing its prefix
		"TCPTUNE_NETNS_ID": "1:2",
		"EMPTY":            "",
		"LAST":             "x", // no NUL after the last entry
		"HOM":              "",
		"NONE":             "",
	} {
		if got := envValue(block, name); got != want {
			t.Errorf("envValue(%s) = %q, want %q", name, got, want)
		}
	}
}

// execEnv reads the environment the process was started with: a child
// started with the variables sees them.
func TestExecEnvInAChild(t *testing.T) {
	if os.Getenv("TCPTUNE_TEST_EXECENV_CHILD") == "1" {
		a, b := execEnv(envPath, envID)
		fmt.Printf("%s|%s", a, b)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestExecEnvInAChild$")
	cmd.Env = append(os.Environ(), "TCPTUNE_TEST_EXECENV_CHILD=1", envPath+"=/run/netns/x", envID+"=7:42")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), "/run/netns/x|7:42") {
		t.Fatalf("child saw %q", out)
	}
}
