package doctor

import (
	"errors"

	"github.com/tcptune/tcptune/sysctl"
	"github.com/tcptune/tcptune/validate"
)

// The live sysctls the rules compare counters against; the ones validate
// judges too are validate's (one declaration of each kernel fact).
var (
	keySomaxconn         = sysctl.Known("net.core.somaxconn", "net/core/somaxconn")
	keySynackRetries     = sysctl.Known("net.ipv4.tcp_synack_retries", "net/ipv4/tcp_synack_retries") // named in fixes only
	keyTwRecycle         = sysctl.Known("net.ipv4.tcp_tw_recycle", "net/ipv4/tcp_tw_recycle")         // removed in Linux 4.12
	keyMaxTwBuckets      = sysctl.Known("net.ipv4.tcp_max_tw_buckets", "net/ipv4/tcp_max_tw_buckets")
	keyMaxOrphans        = sysctl.Known("net.ipv4.tcp_max_orphans", "net/ipv4/tcp_max_orphans")
	keyFinTimeout        = sysctl.Known("net.ipv4.tcp_fin_timeout", "net/ipv4/tcp_fin_timeout")
	keyTCPMem            = sysctl.Known("net.ipv4.tcp_mem", "net/ipv4/tcp_mem")
	keyNetdevMaxBacklog  = sysctl.Known("net.core.netdev_max_backlog", "net/core/netdev_max_backlog")
	keyNetdevBudget      = sysctl.Known("net.core.netdev_budget", "net/core/netdev_budget")
	keyNetdevBudgetUsecs = sysctl.Known("net.core.netdev_budget_usecs", "net/core/netdev_budget_usecs")
)

var doctorKeys = []sysctl.Key{
	keySomaxconn, validate.KeySynBacklog, validate.KeyAbort, validate.KeySyncookies, validate.KeyTwReuse, keyTwRecycle,
	validate.KeyPortRange, keyMaxTwBuckets, keyMaxOrphans, keyFinTimeout, keyTCPMem,
	keyNetdevMaxBacklog, keyNetdevBudget, keyNetdevBudgetUsecs,
}

// Sysctls holds live values by key. A key the kernel does not have (removed,
// or host-wide and invisible from a child namespace) is absent.
type Sysctls map[sysctl.Key]sysctl.Value

// Int returns field i of k as an integer, and false when k is absent or not
// numeric there.
func (s Sysctls) Int(k sysctl.Key, i int) (int64, bool) {
	v, ok := s[k]
	if !ok {
		return 0, false
	}
	ns, err := v.Ints()
	if err != nil || i >= len(ns) {
		return 0, false
	}
	return ns[i], true
}

// readSysctls reads doctorKeys through fs. It must run on the thread whose
// network namespace is diagnosed: /proc/sys/net follows the netns of the
// opener. Absent keys are skipped; any other error is returned per key.
func readSysctls(fs *sysctl.FS) (Sysctls, map[sysctl.Key]error) {
	out := Sysctls{}
	var errs map[sysctl.Key]error
	for _, k := range doctorKeys {
		v, err := fs.Read(k)
		switch {
		case err == nil:
			out[k] = v
		case errors.Is(err, sysctl.ErrNotPresent):
		default:
			if errs == nil {
				errs = map[sysctl.Key]error{}
			}
			errs[k] = err
		}
	}
	return out, errs
}
