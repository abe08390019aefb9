package boottest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStale: the image is rebuilt when missing, older than a week, made
// from another recipe or incomplete, and reused otherwise. No root needed.
func TestStale(t *testing.T) {
	d := t.TempDir()
	root, stamp := filepath.Join(d, Suite), filepath.Join(d, Suite+".stamp")
	want := recipe("http://deb.debian.org/debian")
	if why := stale(root, stamp, want); why != "no image yet" {
		t.Errorf("no stamp: %q", why)
	}
	if err := os.WriteFile(stamp, []byte(want), 0o644); err != nil {
		t.Fatal(err)
	}
	if why := stale(root, stamp, want); why != "image incomplete" {
		t.Errorf("stamp without a root: %q", why)
	}
	if err := os.MkdirAll(filepath.Join(root, "usr/lib/systemd"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "usr/lib/systemd/systemd"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if why := stale(root, stamp, want); why != "" {
		t.Errorf("fresh image: %q", why)
	}
	if why := stale(root, stamp, recipe("http://mirror.example/debian")); why != "made from another recipe" {
		t.Errorf("other mirror: %q", why)
	}
	old := time.Now().Add(-MaxImageAge - time.Hour)
	if err := os.Chtimes(stamp, old, old); err != nil {
		t.Fatal(err)
	}
	if why := stale(root, stamp, want); !strings.HasPrefix(why, "image is ") {
		t.Errorf("week-old image: %q", why)
	}
}

func TestMirrorIn(t *testing.T) {
	d := t.TempDir()
	for _, c := range []struct{ name, text, want string }{
		{"debian.sources", "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n", "http://deb.debian.org/debian"},
		{"security.sources", "Types: deb\nURIs: http://deb.debian.org/debian-security\n", ""},
		{"sources.list", "# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://ftp.example.org/debian/ bookworm main\n", "http://ftp.example.org/debian"},
		{"plain.list", "deb http://mirror.example/debian bookworm main\n", "http://mirror.example/debian"},
	} {
		p := filepath.Join(d, c.name)
		if err := os.WriteFile(p, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := mirrorIn(p); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	if got := mirrorIn(filepath.Join(d, "missing")); got != "" {
		t.Errorf("missing file: %q", got)
	}
}
