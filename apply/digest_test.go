package apply

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

// Digest is built without fmt for speed; it must stay the digest of the
// fmt-formatted lines, so plans saved before still bind.
func TestDigestIsTheFmtForm(t *testing.T) {
	r := &profiles.Resolved{
		Profiles: []string{"high-concurrency", `odd "name"`},
		Settings: []profiles.Setting{
			{Key: sysctl.MustKey("net.core.somaxconn"), Value: "65535", Op: profiles.Op("at-least")},
			{Key: sysctl.MustKey("net.ipv4.conf.eth0/100.rp_filter"), Value: "1\t2 é\n", Op: profiles.Op("")},
		},
	}
	h := sha256.New()
	for _, n := range r.Profiles {
		fmt.Fprintf(h, "profile %q\n", n)
	}
	for _, s := range r.Settings {
		fmt.Fprintf(h, "%q %q %q\n", s.Key.String(), string(s.Value), string(s.Op))
	}
	want := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if got := Digest(r); got != want {
		t.Errorf("Digest = %s, want the fmt form %s", got, want)
	}
}
