package validate

import (
	"errors"
	"testing"

	"github.com/tcptune/tcptune/sysctl"
)

func TestKeyAllowed(t *testing.T) {
	for key, want := range map[string]bool{
		"net.core.somaxconn":          true,
		"net.ipv4.conf.all.rp_filter": true,
		"fs.file-max":                 true,
		"fs.nr_open":                  true,
		"kernel.core_pattern":         false,
		"kernel.modprobe":             false,
		"vm.swappiness":               false,
		"fs.suid_dumpable":            false,
	} {
		err := KeyAllowed(sysctl.MustKey(key))
		if (err == nil) != want {
			t.Errorf("KeyAllowed(%s) = %v, want allowed=%v", key, err, want)
		}
		if err != nil && !errors.Is(err, ErrKeyNotAllowed) {
			t.Errorf("KeyAllowed(%s) = %v, not ErrKeyNotAllowed", key, err)
		}
	}
}
