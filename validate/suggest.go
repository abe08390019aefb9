package validate

import (
	"sort"
	"strings"

	"github.com/tcptune/tcptune/sysctl"
)

// maxSuggestions bounds a did-you-mean list; more is noise.
const maxSuggestions = 3

// Suggest returns up to three known names close to name, best first: catalog
// keys and, when given, keys of the running kernel (--kernel). Closeness is
// the edit distance over the whole dotted name, or over the last component
// plus one, so that a right name under the wrong prefix
// (net.core.tcp_syncookies) still finds net.ipv4.tcp_syncookies.
func Suggest(name string, kernelKeys ...sysctl.Key) []string {
	orig := strings.TrimSpace(name)
	name = strings.ToLower(orig)
	if name == "" {
		return nil
	}
	if k, err := sysctl.ParseKey(name); err == nil {
		name = k.String() // net/ipv4/x and net.ipv4.x compare alike
	}
	if k, err := sysctl.ParseKey(orig); err == nil {
		orig = k.String()
	}
	base := name[strings.LastIndexByte(name, '.')+1:]
	limit := max(2, len(base)/3)

	type cand struct {
		name  string
		score int
	}
	// The name itself is no suggestion; its lowercase form is when the
	// input had capitals.
	seen := map[string]bool{orig: true}
	var cands []cand
	consider := func(c string) {
		if seen[c] {
			return
		}
		seen[c] = true
		lc := strings.ToLower(c)
		cbase := lc[strings.LastIndexByte(lc, '.')+1:]
		score := min(distance(name, lc), distance(base, cbase)+1)
		if score <= limit {
			cands = append(cands, cand{c, score})
		}
	}
	for _, t := range sorted() {
		if !t.Removed() {
			consider(t.Key.String())
		}
	}
	for _, k := range kernelKeys {
		consider(k.String())
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].score != cands[j].score {
			return cands[i].score < cands[j].score
		}
		return cands[i].name < cands[j].name
	})
	var out []string
	for i := 0; i < len(cands) && i < maxSuggestions; i++ {
		out = append(out, cands[i].name)
	}
	return out
}

// distance is the Levenshtein edit distance between a and b (bytes: keys
// are ASCII).
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
