package profiles

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const okProfile = "name: web\nsettings:\n  net.core.somaxconn: 8192\n"

func writeProfile(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(okProfile), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// TestStrictPerms: run as root, a profile file or directory that someone
// else could change is refused with the path and the fix; without strict
// mode it loads but is untrusted (cannot grant allow:).
func TestStrictPerms(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to own files as root and chown them to others")
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	writeProfile(t, good, 0o644)
	gw := filepath.Join(dir, "gw.yaml")
	writeProfile(t, gw, 0o664)
	ow := filepath.Join(dir, "ow.yaml")
	writeProfile(t, ow, 0o646)
	other := filepath.Join(dir, "other.yaml")
	writeProfile(t, other, 0o644)
	if err := os.Chown(other, 1000, 1000); err != nil {
		t.Fatal(err)
	}
	opendir := filepath.Join(dir, "open")
	if err := os.Mkdir(opendir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(opendir, 0o777); err != nil {
		t.Fatal(err)
	}
	inOpen := filepath.Join(opendir, "x.yaml")
	writeProfile(t, inOpen, 0o644)

	for _, tt := range []struct {
		path, why, fix string
	}{
		{good, "", ""},
		{gw, "writable by group or others (mode 0664)", "chmod go-w " + gw},
		{ow, "writable by group or others (mode 0646)", "chmod go-w " + ow},
		{other, "owned by uid 1000, not root", "chown root " + other},
		{inOpen, "writable by group or others (mode 0777)", "chmod go-w " + opendir},
	} {
		l := &Loader{Files: []string{tt.path}, StrictPerms: true}
		_, err := l.Get("web")
		var pe *PermError
		if tt.why == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.path, err)
			}
		} else if !errors.As(err, &pe) || pe.Why != tt.why || pe.Fix != tt.fix {
			t.Errorf("%s: err = %v; want %q, fix %q", tt.path, err, tt.why, tt.fix)
		}
		// Not strict (not root): loads, but untrusted.
		p, err := ReadFile(tt.path, OriginFile)
		if err != nil {
			t.Fatalf("%s: %v", tt.path, err)
		}
		if (p.Untrusted == "") != (tt.why == "") || (tt.why != "" && !strings.Contains(p.Untrusted, tt.why)) {
			t.Errorf("%s: Untrusted = %q, want %q", tt.path, p.Untrusted, tt.why)
		}
	}
	// A group-writable profile directory is refused as a whole: anyone in
	// the group could add a profile.
	l := &Loader{Dirs: []string{opendir}, StrictPerms: true}
	if _, err := l.All(); err == nil || !strings.Contains(err.Error(), "chmod go-w "+opendir) {
		t.Errorf("open profile dir: %v", err)
	}
}

// TestNonRegularProfiles: a FIFO given with -f or sitting in a profile
// directory is refused at once, never opened blocking; so is an oversized
// file.
func TestNonRegularProfiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "web.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 2)
	go func() {
		_, err := (&Loader{Files: []string{fifo}}).Get("web")
		done <- err
	}()
	go func() {
		_, err := (&Loader{Dirs: []string{dir}}).All()
		done <- err
	}()
	for i := 0; i < 2; i++ {
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "not a regular file (a FIFO)") {
				t.Errorf("FIFO profile: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("reading a FIFO profile blocked")
		}
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, make([]byte, MaxFileSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(big, OriginFile); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized profile: %v", err)
	}
}

// TestSysctlConfGivenAsProfile: sysctl.conf lines where a profile is
// expected point to 'tcptune import'; YAML that merely contains '=' does not.
func TestSysctlConfGivenAsProfile(t *testing.T) {
	for _, in := range []string{
		"net.core.somaxconn = 65535\n",
		"# tuned for web\n\nnet.core.somaxconn=65535\n; x\n-net.ipv4.tcp_ecn = 1\nnet.ipv4.conf.*.rp_filter = 2\n",
	} {
		_, err := Decode("x.conf", []byte(in), OriginFile, "x")
		if err == nil || !strings.Contains(err.Error(), "tcptune import x.conf") {
			t.Errorf("%q: %v", in, err)
		}
	}
	p, err := Decode("p.yaml", []byte("name: p\ndescription: a = b\nsettings:\n  net.core.somaxconn:\n    value: 1\n    reason: x = y\n"), OriginFile, "")
	if err != nil || p.Settings[0].Reason != "x = y" {
		t.Errorf("YAML with '=': %v", err)
	}
}

func TestDecodeAllowAndIgnoreFailure(t *testing.T) {
	p, err := Decode("p.yaml", []byte("name: p\nallow: [kernel.core_pattern, vm.*]\nsettings:\n  net.ipv4.tcp_ecn:\n    value: 1\n    ignore-failure: true\n"), OriginFile, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Allow) != 2 || p.Allow[1].Pattern != "vm.*" || p.Allow[0].Pos.Line != 2 || !p.Settings[0].IgnoreFailure {
		t.Errorf("decoded %+v", p)
	}
	for _, bad := range []string{"allow: ['*']", "allow: [.*]", "allow: kernel.x", "allow: ['net/../kernel']"} {
		if _, err := Decode("p.yaml", []byte("name: p\n"+bad+"\n"), OriginFile, ""); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if _, err := Decode("p.yaml", []byte("name: p\nsettings:\n  net.x:\n    value: 1\n    ignore-failure: yes please\n"), OriginFile, ""); err == nil {
		t.Error("ignore-failure: non-bool accepted")
	}
}

// TestYAMLLeadingZero: an unquoted 010 is octal to YAML and to the kernel;
// refuse it rather than guess what the author meant.
func TestYAMLLeadingZero(t *testing.T) {
	_, err := Decode("p.yaml", []byte("name: p\nsettings:\n  net.core.somaxconn: 010\n"), OriginFile, "")
	if err == nil || !strings.Contains(err.Error(), "p.yaml:3:23") || !strings.Contains(err.Error(), "octal (8)") {
		t.Errorf("010: %v", err)
	}
	p, err := Decode("p.yaml", []byte("name: p\nsettings:\n  net.core.somaxconn: 0x10\n  net.core.netdev_max_backlog: 0\n"), OriginFile, "")
	if err != nil || p.Settings[0].Value != "16" || p.Settings[1].Value != "0" {
		t.Errorf("0x10 / 0: %v %+v", err, p)
	}
}
