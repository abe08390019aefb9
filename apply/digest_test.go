package apply

import (
	"testing"

	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

// Digest tells apart every change a saved plan must notice: a profile, a
// key, a value, an operator, and where one field ends and the next begins.
func TestDigestSeparatesFields(t *testing.T) {
	set := func(key, value, op string) profiles.Setting {
		return profiles.Setting{Key: sysctl.MustKey(key), Value: sysctl.Value(value), Op: profiles.Op(op)}
	}
	base := &profiles.Resolved{Profiles: []string{"high-concurrency"}, Settings: []profiles.Setting{
		set("net.core.somaxconn", "65535", ""), set("net.ipv4.tcp_rmem", "4096 131072 6291456", "at-least"),
	}}
	variants := map[string]*profiles.Resolved{
		"profile":      {Profiles: []string{"fail-fast"}, Settings: base.Settings},
		"two profiles": {Profiles: []string{"high-", "concurrency"}, Settings: base.Settings},
		"value": {Profiles: base.Profiles, Settings: []profiles.Setting{
			set("net.core.somaxconn", "65536", ""), base.Settings[1]}},
		"op": {Profiles: base.Profiles, Settings: []profiles.Setting{
			set("net.core.somaxconn", "65535", "at-least"), base.Settings[1]}},
		"key": {Profiles: base.Profiles, Settings: []profiles.Setting{
			set("net.core.netdev_max_backlog", "65535", ""), base.Settings[1]}},
		"value into op": {Profiles: base.Profiles, Settings: []profiles.Setting{
			set("net.core.somaxconn", "65535at-least", ""), set("net.ipv4.tcp_rmem", "4096 131072 6291456", "")}},
		"fewer": {Profiles: base.Profiles, Settings: base.Settings[:1]},
	}
	want := Digest(base)
	if got := Digest(base); got != want || len(got) != len("sha256:")+64 {
		t.Fatalf("Digest not stable or not sha256: %s, %s", want, got)
	}
	for name, r := range variants {
		if Digest(r) == want {
			t.Errorf("%s: same digest as the base; a saved plan would bind to a different profile", name)
		}
	}
}
