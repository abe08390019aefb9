package doctor

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// The hand matchers answer what the regexps they replace answered, on
// components built from the pieces those regexps care about.
func TestCgroupMatchersEqualRegexps(t *testing.T) {
	rePod := regexp.MustCompile(`pod([0-9a-fA-F]{8}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{12})`)
	reScope := regexp.MustCompile(`^(?:(docker|cri-containerd|crio|libpod)-)?([0-9a-f]{64})(?:\.scope)?$`)
	hex64 := strings.Repeat("0123456789abcdef", 4)
	uid := "1b4e28ba-2fa1_11d2-883f-0016d3cca427"
	pieces := []string{"pod", "po", "d", uid, uid[:35], strings.ToUpper(uid), hex64, hex64[:63], "A", "-", "_", ".scope", ".slice",
		"docker-", "cri-containerd-", "crio-", "libpod-", "kubepods-burstable-", "x", "0", "g"}
	r := rand.New(rand.NewPCG(1, 2))
	seen := 0
	for n := 0; n < 20000; n++ {
		var b strings.Builder
		for k := r.IntN(5); k >= 0; k-- {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		p := b.String()
		m := rePod.FindStringSubmatch(p)
		got, ok := podUID(p)
		if (m != nil) != ok || (ok && got != m[1]) {
			t.Fatalf("podUID(%q) = %q, %v; the regexp says %q", p, got, ok, m)
		}
		m = reScope.FindStringSubmatch(p)
		rt, id, ok := scopeID(p)
		if (m != nil) != ok || (ok && (rt != m[1] || id != m[2])) {
			t.Fatalf("scopeID(%q) = %q, %q, %v; the regexp says %q", p, rt, id, ok, m)
		}
		if ok {
			seen++
		}
	}
	if seen < 100 {
		t.Fatalf("only %d of the generated components were scopes: the generator does not exercise the matchers", seen)
	}
}
