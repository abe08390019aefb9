// Added by tcptune's patch (third_party/patches): the hand matchers that
// replace the package-level regexps answer what those regexps answered.

package yaml

import (
	"math/rand"
	"regexp"
	"strings"
	"testing"
)

func TestFloatMatchersEqualRegexps(t *testing.T) {
	yamlStyleFloat := regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)
	base60float := regexp.MustCompile(`^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`)
	alphabet := []string{"+", "-", ".", "_", ":", "e", "E", "0", "1", "5", "6", "9", "59", "60", "x", " ", "\n"}
	r := rand.New(rand.NewSource(1))
	matched := [2]int{}
	for n := 0; n < 200000; n++ {
		var b strings.Builder
		for k := r.Intn(9); k >= 0; k-- {
			b.WriteString(alphabet[r.Intn(len(alphabet))])
		}
		s := b.String()
		if got, want := isYAMLStyleFloat(s), yamlStyleFloat.MatchString(s); got != want {
			t.Fatalf("isYAMLStyleFloat(%q) = %v, the regexp says %v", s, got, want)
		} else if got {
			matched[0]++
		}
		if got, want := base60floatMatch(s), base60float.MatchString(s); got != want {
			t.Fatalf("base60floatMatch(%q) = %v, the regexp says %v", s, got, want)
		} else if got {
			matched[1]++
		}
	}
	if matched[0] < 100 || matched[1] < 100 {
		t.Fatalf("only %v of the generated strings matched: the generator does not exercise the matchers", matched)
	}
}
