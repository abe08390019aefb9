package validate

import (
	"math"
	"strings"

	"github.com/tcptune/tcptune/sysctl"
)

// More of what SREs set, each checked against the ctl_table that defines
// it. Handlers without extra1/extra2 take their C type's whole range
// (kernel/sysctl.c): proc_dou8vec_minmax 0..255, proc_douintvec
// 0..UINT_MAX, proc_dointvec any int.

const (
	uintMax     = math.MaxUint32
	ipv6Src     = "net/ipv6/addrconf.c"
	devinetSrc  = "net/ipv4/devinet.c"
	conntrackSr = "net/netfilter/nf_conntrack_standalone.c"
	// ifaceDoc is the note every per-interface key carries.
	ifaceDoc = "; per interface: conf.all, conf.default (for interfaces created later) or conf.IFACE, with systemd's dot/slash rule for names such as eth0.100 (net.ipv4.conf.eth0/100.KEY); udev re-applies sysctl.d when an interface appears, so a value set only live is lost on a new interface"
)

// iface is the placeholder component of per-interface catalog entries:
// net.ipv4.conf.IFACE.rp_filter stands for all, default and every interface.
const iface = "IFACE"

func moreTunables() []Tunable {
	return []Tunable{
		{
			Key: sysctl.Known("net.ipv4.tcp_slow_start_after_idle", "net/ipv4/tcp_slow_start_after_idle"), Type: TypeInt,
			Min: i64(0), Max: i64(u8Max), Values: []int64{0, 1}, // proc_dou8vec_minmax, no extra bounds
			Unit: "flag", Scope: ScopeNetns, Default: "1",
			Doc:    "Reset the congestion window to its initial size after an idle period (1); 0 keeps long-lived connections fast after a pause",
			Source: ipv4Src,
		},
		{
			Key: sysctl.Known("net.ipv4.tcp_notsent_lowat", "net/ipv4/tcp_notsent_lowat"), Type: TypeInt,
			Min: i64(0), Max: i64(uintMax), // proc_douintvec, unsigned int
			Unit: "bytes", Scope: ScopeNetns, Default: "4294967295",
			Doc:    "Limit of unsent bytes in a socket's write queue before poll() stops reporting it writable; lower (e.g. 131072) cuts sender-side latency and memory",
			Source: ipv4Src,
		},
		{
			Key: sysctl.Known("net.ipv4.tcp_fastopen", "net/ipv4/tcp_fastopen"), Type: TypeInt,
			Min: i64(intMin), Max: i64(intMax), // proc_dointvec, a bit mask
			Unit: "flags", Scope: ScopeNetns, Default: "1",
			Doc:    "TCP Fast Open bit mask: 0x1 client, 0x2 server, 0x4 client without cookie, 0x200 server without cookie, 0x400 server on all listeners",
			Source: ipv4Src,
		},
		{
			Key: sysctl.Known("net.ipv4.tcp_timestamps", "net/ipv4/tcp_timestamps"), Type: TypeInt,
			Min: i64(0), Max: i64(u8Max), Values: []int64{0, 1, 2}, // proc_dou8vec_minmax, no extra bounds
			Unit: "mode", Scope: ScopeNetns, Default: "1",
			Doc:    "RFC 1323/7323 timestamps: 1 with a random offset per connection, 2 without, 0 off (tcp_tw_reuse and PAWS need them)",
			Source: ipv4Src,
		},
		{
			Key: sysctl.Known("net.ipv4.tcp_sack", "net/ipv4/tcp_sack"), Type: TypeInt,
			Min: i64(0), Max: i64(u8Max), Values: []int64{0, 1}, // proc_dou8vec_minmax, no extra bounds
			Unit: "flag", Scope: ScopeNetns, Default: "1",
			Doc:    "Selective acknowledgments (RFC 2018); keep 1 unless a middlebox breaks them",
			Source: ipv4Src,
		},
		{
			Key: sysctl.Known("net.core.default_qdisc", "net/core/default_qdisc"), Type: TypeString,
			Unit: "qdisc", Scope: ScopeGlobal, Default: "pfifo_fast", // CONFIG_DEFAULT_NET_SCH, often fq_codel
			Doc:    "Queueing discipline for new network devices (fq for BBR pacing, fq_codel); existing devices keep theirs until re-created",
			Source: "net/core/sysctl_net_core.c",
		},
		{
			Key: sysctl.Known("fs.nr_open", "fs/nr_open"), Type: TypeInt,
			Min: i64(64), Max: i64(2147483584), // proc_dointvec_minmax, sysctl_nr_open_min = BITS_PER_LONG, sysctl_nr_open_max on 64-bit
			Unit: "files", Scope: ScopeGlobal, Default: "1048576",
			NetnsNote: "host-wide; visible and writable from a child network namespace, where a write changes the host",
			Doc:       "Most file descriptors one process may open (the ceiling of RLIMIT_NOFILE); a proxy with many sockets may need more than 1048576",
			Source:    "fs/file.c",
		},
	}
}

// extraTunables are the entries an extraName claims (catalog.go: they are
// built only when such a key is looked up).
func extraTunables() []Tunable {
	return []Tunable{
		// Connection tracking: registered by the nf_conntrack module, absent
		// until it is loaded.
		{
			Key: sysctl.Known("net.netfilter.nf_conntrack_max", "net/netfilter/nf_conntrack_max"), Type: TypeInt,
			Min: i64(0), Max: i64(intMax), // proc_dointvec_minmax, extra1 = SYSCTL_ZERO, extra2 = SYSCTL_INT_MAX
			Unit: "entries", Scope: ScopeGlobal, Module: "nf_conntrack",
			DefaultNote: "computed when nf_conntrack loads, from RAM (nf_conntrack_htable_size times 1 or 2)",
			NetnsNote:   "host-wide; read-only in child network namespaces",
			Doc:         "Size of the connection tracking table; when full, new connections are dropped (\"nf_conntrack: table full, dropping packet\")",
			Source:      conntrackSr,
		},
		conntrackTimeout(ctKey+"established", "432000", ctDoc+"ESTABLISHED entries (5 days); with many idle keep-alive connections a lower value frees the table"),
		conntrackTimeout(ctKey+"time_wait", "120", ctDoc+"TIME_WAIT entries"),
		conntrackTimeout(ctKey+"close_wait", "60", ctDoc+"CLOSE_WAIT entries"),
		conntrackTimeout(ctKey+"fin_wait", "120", ctDoc+"FIN_WAIT entries"),
		conntrackTimeout(ctKey+"syn_sent", "120", ctDoc+"SYN_SENT entries"),
		conntrackTimeout(ctKey+"syn_recv", "60", ctDoc+"SYN_RECV entries"),
		conntrackTimeout(ctKey+"last_ack", "30", ctDoc+"LAST_ACK entries"),
		conntrackTimeout(ctKey+"close", "10", ctDoc+"CLOSE entries"),
		conntrackTimeout(ctKey+"max_retrans", "300", ctDoc+"entries whose packets were retransmitted tcp_max_retrans times"),
		conntrackTimeout(ctKey+"unacknowledged", "300", ctDoc+"entries with unacknowledged data"),

		// Per interface (net/ipv4/devinet.c devinet_sysctl, proc_dointvec
		// without bounds unless noted).
		ifaceTunable("net.ipv4.conf."+iface+".rp_filter", TypeInt, "0", []int64{0, 1, 2}, "mode",
			"Reverse path filter: 1 strict, 2 loose, 0 off; the effective value is the larger of conf.all and conf.IFACE (systemd's 50-default.conf sets 2)"+ifaceDoc),
		ifaceTunable("net.ipv4.conf."+iface+".accept_redirects", TypeBool, "1", nil, "flag", "Accept ICMP redirects (0 on routers and hardened hosts)"+ifaceDoc),
		ifaceTunable("net.ipv4.conf."+iface+".send_redirects", TypeBool, "1", nil, "flag", "Send ICMP redirects when routing back out the same interface"+ifaceDoc),
		ifaceTunable("net.ipv4.conf."+iface+".accept_source_route", TypeBool, "0", nil, "flag", "Accept source-routed packets"+ifaceDoc),
		ifaceTunable("net.ipv4.conf."+iface+".log_martians", TypeBool, "0", nil, "flag", "Log packets with impossible source addresses"+ifaceDoc),
		ifaceTunable("net.ipv4.conf."+iface+".forwarding", TypeBool, "0", nil, "flag", "Forward IPv4 packets on this interface (conf.all.forwarding equals net.ipv4.ip_forward)"+ifaceDoc),
		ifaceTunable("net.ipv4.conf."+iface+".arp_ignore", TypeInt, "0", []int64{0, 1, 2, 3, 8}, "mode", "Which ARP requests to answer: 1 only for addresses on the incoming interface"+ifaceDoc),
		ifaceTunable("net.ipv4.conf."+iface+".arp_announce", TypeInt, "0", []int64{0, 1, 2}, "mode", "Which source address ARP requests use: 2 the best local address for the target"+ifaceDoc),
		// IPv6 counterparts (net/ipv6/addrconf.c addrconf_sysctl).
		ifaceTunable("net.ipv6.conf."+iface+".forwarding", TypeBool, "0", nil, "flag", "Forward IPv6 packets (conf.all.forwarding switches every interface)"+ifaceDoc),
		ifaceTunable("net.ipv6.conf."+iface+".accept_redirects", TypeBool, "1", nil, "flag", "Accept ICMPv6 redirects"+ifaceDoc),
		ifaceTunable("net.ipv6.conf."+iface+".accept_source_route", TypeInt, "0", []int64{-1, 0}, "mode", "Accept routing headers: 0 type 2 only, -1 none"+ifaceDoc),
		ifaceTunable("net.ipv6.conf."+iface+".accept_ra", TypeInt, "1", []int64{0, 1, 2}, "mode", "Accept router advertisements: 1 unless forwarding, 2 even when forwarding"+ifaceDoc),
		ifaceTunable("net.ipv6.conf."+iface+".disable_ipv6", TypeBool, "0", nil, "flag", "Disable IPv6 on the interface"+ifaceDoc),
	}
}

// ctKey and ctDoc begin every conntrack timeout's key and doc; the call sites
// concatenate constants, which the compiler folds (building these names at
// run time was a tenth of the catalog's cost on every diff).
const (
	ctKey = "net.netfilter.nf_conntrack_tcp_timeout_"
	ctDoc = "Connection tracking timeout for TCP "
)

func conntrackTimeout(key, def, doc string) Tunable {
	return Tunable{
		Key: sysctl.MustKey(key), Type: TypeInt,
		Min: i64(0), Max: i64(jiffiesMax), UsefulMin: i64(1), // proc_dointvec_jiffies
		Unit: "seconds", Scope: ScopeNetns, Default: sysctl.Value(def), Module: "nf_conntrack",
		Doc:    doc,
		Source: "net/netfilter/nf_conntrack_proto_tcp.c",
	}
}

func ifaceTunable(key string, typ Type, def string, values []int64, unit, doc string) Tunable {
	t := Tunable{
		Key: sysctl.MustKey(key), Type: typ,
		Unit: unit, Scope: ScopeNetns, Default: sysctl.Value(def), Values: values,
		Doc: doc, Source: devinetSrc,
	}
	if strings.HasPrefix(key, "net.ipv6.") {
		t.Source = ipv6Src
	}
	// devinet_conf_proc and the addrconf handlers are proc_dointvec
	// underneath: the kernel takes any int (checked on Linux 6.18 by
	// TestCatalogBoundsOnRealKernel); a flag's documented values are 0 and 1.
	t.Min, t.Max = i64(intMin), i64(intMax)
	if typ == TypeBool {
		t.Type, t.Values = TypeInt, []int64{0, 1}
	}
	return t
}

// ifaceKey maps net.ipv4.conf.eth0.rp_filter (or all, default) to its
// catalog entry net.ipv4.conf.IFACE.rp_filter.
func ifaceKey(k sysctl.Key) (string, bool) {
	parts := strings.Split(k.Path(), "/")
	if len(parts) != 5 || parts[0] != "net" || (parts[1] != "ipv4" && parts[1] != "ipv6") || parts[2] != "conf" {
		return "", false
	}
	parts[3] = iface
	return strings.Join(parts, "."), true
}
