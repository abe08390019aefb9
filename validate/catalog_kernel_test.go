package validate

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/tcptune/tcptune/internal/nstest"
	"github.com/tcptune/tcptune/sysctl"
)

// TestCatalogBoundsOnRealKernel writes the edge values of the catalog's
// per-namespace integer entries added for issue 13 inside a private network
// namespace: Min and Max must be taken and read back, Max+1 (where the
// handler has a real upper bound below INT_MAX) refused. Per-interface
// entries are checked on conf.all. Keys this kernel lacks (a module not
// loaded) are skipped by name.
func TestCatalogBoundsOnRealKernel(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	nstest.Guard(t)
	fs := sysctl.NewFS("")
	for _, tun := range moreTunables() {
		if tun.Scope != ScopeNetns || (tun.Type != TypeInt && tun.Type != TypeBool) || tun.Min == nil || tun.Max == nil {
			continue
		}
		k := tun.Key
		if name, ok := ifaceKey(k); ok && name == k.String() {
			k = sysctl.MustKey(fmt.Sprintf("net.%s.conf.all.%s", k.Path()[4:8], k.Base()))
		}
		orig, err := fs.Read(k)
		if errors.Is(err, sysctl.ErrNotPresent) {
			t.Logf("%s: not on this kernel, skipped", k)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		jiffies := tun.Unit == "seconds"
		for _, v := range []int64{*tun.Min, *tun.Max} {
			if err := fs.Write(k, sysctl.IntsValue(v)); err != nil {
				t.Errorf("%s = %d (catalog bound): %v", k, v, err)
			} else if got, _ := fs.Read(k); got != sysctl.IntsValue(v) {
				t.Errorf("%s = %d reads back %q", k, v, got)
			}
		}
		if *tun.Max < math.MaxInt32 && !jiffies {
			if err := fs.Write(k, sysctl.IntsValue(*tun.Max+1)); err == nil {
				t.Errorf("%s = %d (above the catalog's max) accepted by the kernel", k, *tun.Max+1)
			}
		}
		if *tun.Min > math.MinInt32 && *tun.Min > 0 {
			if err := fs.Write(k, sysctl.IntsValue(*tun.Min-1)); err == nil {
				t.Errorf("%s = %d (below the catalog's min) accepted by the kernel", k, *tun.Min-1)
			}
		}
		if err := fs.Write(k, orig); err != nil {
			t.Errorf("restore %s: %v", k, err)
		}
	}
}
