package fakeroot

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tcptune/tcptune/sysctl"
)

func TestWrite(t *testing.T) {
	root := New(t, map[string]string{"net.core.somaxconn": "4096", "net.ipv4.conf.eth0/100.rp_filter": "2"})
	for p, want := range map[string]string{"net/core/somaxconn": "4096\n", "net/ipv4/conf/eth0.100/rp_filter": "2\n"} {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", p, b, err, want)
		}
	}
	if v, err := sysctl.NewFS(root).Read(sysctl.MustKey("net.core.somaxconn")); err != nil || v != "4096" {
		t.Errorf("read back through sysctl.FS: %q, %v", v, err)
	}
	if err := Write(root, map[string]string{"net/../../etc/passwd": "x"}); err == nil {
		t.Error("a key with .. was written")
	}
}
