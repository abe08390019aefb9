// Added by tcptune's patch (third_party/patches): configEnvVar replaces what
// the regexp [^A-Z0-9_] replaced.

package cobra

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func TestConfigEnvVarEqualsRegexp(t *testing.T) {
	re := regexp.MustCompile(`[^A-Z0-9_]`)
	for _, name := range []string{"tcptune", "my-prog", "a.b c", "héllo", "x\xffy", "ÄÖÜ_09", "", "name/with/slashes"} {
		want := re.ReplaceAllString(strings.ToUpper(fmt.Sprintf("%s_%s", name, "SUFFIX")), "_")
		if got := configEnvVar(name, "SUFFIX"); got != want {
			t.Errorf("configEnvVar(%q) = %q, the regexp says %q", name, got, want)
		}
	}
}
