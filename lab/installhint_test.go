package lab

import (
	"strings"
	"testing"
)

// TestInstallHint: Debian packages get apt-get; the lab's own Go client is
// no Debian package, so its hint says how to build it.
func TestInstallHint(t *testing.T) {
	if h := InstallHint("nginx"); !strings.Contains(h, "apt-get install -y nginx") {
		t.Errorf("nginx: %q", h)
	}
	if h := InstallHint(httpClientName); strings.Contains(h, "apt-get") || !strings.Contains(h, HTTPClientEnv) ||
		!strings.Contains(h, "./cmd/"+httpClientName) {
		t.Errorf("%s: %q", httpClientName, h)
	}
}
