package validate

import "github.com/tcptune/tcptune/sysctl"

// Socket buffer floors of net/core/sysctl_net_core.c (min_rcvbuf,
// min_sndbuf): SOCK_MIN_RCVBUF = 2048 + SKB_DATA_ALIGN(sizeof(struct
// sk_buff)) and SOCK_MIN_SNDBUF twice that (include/net/sock.h). With the
// 232-byte sk_buff of x86_64 and arm64 that is 2304 and 4608; other
// architectures differ by a few bytes, which no real profile comes near.
const (
	sockMinRcvbuf = 2304
	sockMinSndbuf = 4608
)

// skMemMax is the default of net.core.{r,w}mem_{default,max}: SK_RMEM_MAX =
// SK_WMEM_MAX = _SK_MEM_OVERHEAD * _SK_MEM_PACKETS (include/net/sock.h),
// 212992 bytes on 64-bit kernels.
const skMemMax = "212992"

// bufNetnsNote is the namespacing history of the four socket buffer keys.
// Commit 19249c0724f2 ("net: make net.core.{r,w}mem_{default,max}
// namespaced", Linux 6.11) made them visible in child namespaces, read-only
// and showing init_net's value; a later proposal to make them writable per
// namespace ("net: fully namespace net.core.{r,w}mem_{default,max}
// sysctls", 2025) is not in 6.18, where a child sees them with mode 0444. So
// they stay host-wide for tcptune.
const bufNetnsNote = "host-wide; since Linux 6.11 (commit 19249c0724f2) visible read-only in child network namespaces with the host's value"

// coreTunables: net.core.* from net/core/sysctl_net_core.c (net_core_table
// is registered for init_net only, netns_core_table per namespace), and
// fs.file-max from fs/file_table.c. Docs: Documentation/admin-guide/sysctl/
// net.rst and fs.rst.
func coreTunables() []Tunable {
	return []Tunable{
		{
			Key: sysctl.Known("net.core.somaxconn", "net/core/somaxconn"), Type: TypeInt,
			Min: i64(0), Max: i64(intMax), // netns_core_table: proc_dointvec_minmax, extra1 = SYSCTL_ZERO
			Unit: "connections", Scope: ScopeNetns, Default: "4096", // SOMAXCONN, 4096 since Linux 5.4 (128 before)
			Doc:    "Limit of socket listen() backlog; the accept queue is min(backlog, somaxconn)",
			Source: "net/core/sysctl_net_core.c",
		},
		{
			Key: sysctl.Known("net.core.netdev_max_backlog", "net/core/netdev_max_backlog"), Type: TypeInt,
			Min: i64(intMin), Max: i64(intMax), UsefulMin: i64(1), // net_core_table: proc_dointvec
			Unit: "packets", Scope: ScopeGlobal, Default: "1000",
			NetnsNote: "host-wide; absent in child network namespaces",
			Doc:       "Packets queued on the input side when the interface receives them faster than the kernel can process them",
			Source:    "net/core/sysctl_net_core.c",
		},
		{
			Key: sysctl.Known("net.core.netdev_budget", "net/core/netdev_budget"), Type: TypeInt,
			Min: i64(intMin), Max: i64(intMax), UsefulMin: i64(1), // net_core_table: proc_dointvec
			Unit: "packets", Scope: ScopeGlobal, Default: "300",
			NetnsNote: "host-wide; absent in child network namespaces",
			Doc:       "Maximum packets taken from all interfaces in one NAPI polling cycle",
			Source:    "net/core/sysctl_net_core.c",
		},
		{
			Key: sysctl.Known("net.core.netdev_budget_usecs", "net/core/netdev_budget_usecs"), Type: TypeInt,
			Min: i64(0), Max: i64(intMax), // net_core_table: proc_dointvec_minmax, extra1 = SYSCTL_ZERO
			Unit: "microseconds", Scope: ScopeGlobal, DefaultNote: "2 * USEC_PER_SEC / HZ (2000 with HZ=1000, 8000 with HZ=250)",
			NetnsNote: "host-wide; absent in child network namespaces",
			Doc:       "Maximum time of one NAPI polling cycle, in microseconds",
			Source:    "net/core/sysctl_net_core.c",
		},
		{
			Key: sysctl.Known("net.core.rmem_max", "net/core/rmem_max"), Type: TypeInt,
			Min: i64(sockMinRcvbuf), Max: i64(intMax), // proc_dointvec_minmax, extra1 = &min_rcvbuf
			Unit: "bytes", Scope: ScopeGlobal, Default: skMemMax, NetnsNote: bufNetnsNote,
			Doc:    "Maximum receive socket buffer size an application may request with SO_RCVBUF",
			Source: "net/core/sysctl_net_core.c",
		},
		{
			Key: sysctl.Known("net.core.wmem_max", "net/core/wmem_max"), Type: TypeInt,
			Min: i64(sockMinSndbuf), Max: i64(intMax), // proc_dointvec_minmax, extra1 = &min_sndbuf
			Unit: "bytes", Scope: ScopeGlobal, Default: skMemMax, NetnsNote: bufNetnsNote,
			Doc:    "Maximum send socket buffer size an application may request with SO_SNDBUF",
			Source: "net/core/sysctl_net_core.c",
		},
		{
			Key: sysctl.Known("net.core.rmem_default", "net/core/rmem_default"), Type: TypeInt,
			Min: i64(sockMinRcvbuf), Max: i64(intMax), // proc_dointvec_minmax, extra1 = &min_rcvbuf
			Unit: "bytes", Scope: ScopeGlobal, Default: skMemMax, NetnsNote: bufNetnsNote,
			Doc:    "Default receive socket buffer size of non-TCP sockets (TCP uses tcp_rmem)",
			Source: "net/core/sysctl_net_core.c",
		},
		{
			Key: sysctl.Known("net.core.wmem_default", "net/core/wmem_default"), Type: TypeInt,
			Min: i64(sockMinSndbuf), Max: i64(intMax), // proc_dointvec_minmax, extra1 = &min_sndbuf
			Unit: "bytes", Scope: ScopeGlobal, Default: skMemMax, NetnsNote: bufNetnsNote,
			Doc:    "Default send socket buffer size of non-TCP sockets (TCP uses tcp_wmem)",
			Source: "net/core/sysctl_net_core.c",
		},
		{
			Key: sysctl.Known("net.core.optmem_max", "net/core/optmem_max"), Type: TypeInt,
			Min: i64(0), Max: i64(intMax), // netns_core_table: proc_dointvec_minmax, extra1 = SYSCTL_ZERO
			Unit: "bytes", Scope: ScopeNetns, Default: "131072",
			Since:     "6.8",
			NetnsNote: "per network namespace since Linux 6.8 (\"net: Namespace-ify sysctl_optmem_max\"); host-wide before",
			Doc:       "Maximum ancillary buffer size per socket (socket options, filters, TCP zerocopy)",
			Source:    "net/core/sysctl_net_core.c",
		},
		{
			Key: sysctl.Known("fs.file-max", "fs/file-max"), Type: TypeInt,
			Min: i64(0), Max: i64(longMax), // proc_doulongvec_minmax, extra1 = SYSCTL_LONG_ZERO, extra2 = SYSCTL_LONG_MAX
			Unit: "files", Scope: ScopeGlobal,
			DefaultNote: "computed at boot from RAM (about 10% of memory in KiB, at least 8192)",
			NetnsNote:   "host-wide; visible and writable from a child network namespace, where a write changes the host",
			Doc:         "System-wide limit on open file handles (every socket is one)",
			Source:      "fs/file_table.c",
		},
	}
}
