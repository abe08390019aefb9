package validate

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/tcptune/tcptune/sysctl"
)

// Bounds shared by many entries. The kernel's generic proc handlers decide
// what a write may contain (kernel/sysctl.c):
//   - proc_dointvec: any C int, negatives included;
//   - proc_dou8vec_minmax: 0..255 unless extra1/extra2 narrow it;
//   - proc_dointvec_jiffies: seconds, refused above INT_MAX/HZ. HZ is a build
//     option (Debian: 250, others 1000); tcptune uses HZ=1000, the strictest
//     common setting, so a profile valid here is valid on every such kernel.
//   - proc_doulongvec_minmax: 0..ULONG_MAX; tcptune parses int64, so it caps
//     at LONG_MAX.
const (
	intMin     = math.MinInt32
	intMax     = math.MaxInt32
	u8Max      = math.MaxUint8
	jiffiesMax = math.MaxInt32 / 1000
	longMax    = math.MaxInt64
)

func i64(n int64) *int64 { return &n }

// The catalog maps the canonical dotted name to its entry, built on first
// use from the per-subsystem lists (catalog_core.go, catalog_ipv4.go,
// catalog_more.go): a command that asks nothing of the catalog (version,
// status, rollback) does not pay for building it at start-up. It is two
// shards: conntrack and per-interface keys (extraName) in one, built only
// when one of them is looked up, everything else in the other; a diff of a
// built-in profile builds half the entries.
var (
	catalogMain  = sync.OnceValue(func() map[string]*Tunable { return index(coreTunables(), ipv4Tunables(), moreTunables()) })
	catalogExtra = sync.OnceValue(func() map[string]*Tunable { return index(extraTunables()) })
)

// extraName reports whether name belongs to the catalogExtra shard.
func extraName(name string) bool {
	return strings.HasPrefix(name, "net.netfilter.") ||
		strings.HasPrefix(name, "net.ipv4.conf.") || strings.HasPrefix(name, "net.ipv6.conf.")
}

func shardOf(name string) map[string]*Tunable {
	if extraName(name) {
		return catalogExtra()
	}
	return catalogMain()
}

func index(groups ...[]Tunable) map[string]*Tunable {
	n := 0
	for _, g := range groups {
		n += len(g)
	}
	m := make(map[string]*Tunable, n)
	for _, group := range groups {
		for i := range group {
			name := group[i].Key.String()
			if _, dup := m[name]; dup {
				panic(fmt.Sprintf("validate: %s is in the catalog twice", name))
			}
			m[name] = &group[i]
		}
	}
	return m
}

// sorted is the catalog in key order, for Catalog and Suggest: sorted on
// first use, not at start-up (sorting the entries cost more instructions
// than the rest of a diff).
var sorted = sync.OnceValue(func() []Tunable {
	first, extra := catalogMain(), catalogExtra()
	out := make([]Tunable, 0, len(first)+len(extra))
	for _, shard := range []map[string]*Tunable{first, extra} { // TestCatalogShards: no name is in both
		for _, t := range shard {
			out = append(out, *t)
		}
	}
	slices.SortFunc(out, func(a, b Tunable) int { return a.Key.Compare(b.Key) })
	return out
})

// Lookup returns the catalog entry for k.
// Per-interface keys (net.ipv4.conf.eth0.rp_filter) find the entry
// written for every interface (net.ipv4.conf.IFACE.rp_filter), with Key set
// to k.
func Lookup(k sysctl.Key) (Tunable, bool) {
	if t, ok := shardOf(k.String())[k.String()]; ok {
		return *t, true
	}
	if name, isIface := ifaceKey(k); isIface {
		if t, ok := shardOf(name)[name]; ok {
			c := *t
			c.Key = k
			return c, true
		}
	}
	return Tunable{}, false
}

// Catalog returns every known tunable, sorted by key. The slice is a copy;
// callers may keep or change it.
func Catalog() []Tunable {
	out := make([]Tunable, len(sorted()))
	copy(out, sorted())
	return out
}

// ScopeOf returns the scope of k. Keys outside the catalog count as per
// network namespace under net. (most of net.ipv4 and net.ipv6 are) and as
// host-wide otherwise (fs.*, kernel.*, vm.* know nothing of network
// namespaces).
func ScopeOf(k sysctl.Key) Scope {
	if t, ok := Lookup(k); ok {
		return t.Scope
	}
	if k.Path() == "net" || strings.HasPrefix(k.Path(), "net/") {
		return ScopeNetns
	}
	return ScopeGlobal
}
