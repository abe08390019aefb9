package validate

import "github.com/tcptune/tcptune/sysctl"

const ipv4Src = "net/ipv4/sysctl_net_ipv4.c"

// ipv4Tunables: net.ipv4.* from net/ipv4/sysctl_net_ipv4.c. Keys of
// ipv4_net_table are per network namespace; keys of ipv4_table (tcp_mem,
// tcp_max_orphans) are registered for init_net only. Bounds below were also
// checked against Linux 6.18 by writing each edge value inside a throwaway
// network namespace. Docs and defaults: Documentation/networking/
// ip-sysctl.rst.
func ipv4Tunables() []Tunable {
	return []Tunable{
		// SYN handling.
		{
			Key: sysctl.Known("net.ipv4.tcp_syncookies", "net/ipv4/tcp_syncookies"), Type: TypeInt,
			Min: i64(0), Max: i64(u8Max), Values: []int64{0, 1, 2}, // proc_dou8vec_minmax
			Unit: "mode", Scope: ScopeNetns, Default: "1",
			Doc:    "Send syncookies when the SYN queue of a socket overflows (1), always (2), never (0)",
			Source: ipv4Src,
		},
		{
			Key: sysctl.Known("net.ipv4.tcp_syn_retries", "net/ipv4/tcp_syn_retries"), Type: TypeInt,
			Min: i64(1), Max: i64(127), // tcp_syn_retries_min = 1, tcp_syn_retries_max = MAX_TCP_SYNCNT
			Unit: "count", Scope: ScopeNetns, Default: "6",
			Doc:    "Times an unanswered SYN is retransmitted for an active open; 6 is about 127 s before connect() fails",
			Source: ipv4Src,
		},
		{
			Key: sysctl.Known("net.ipv4.tcp_synack_retries", "net/ipv4/tcp_synack_retries"), Type: TypeInt,
			Min: i64(0), Max: i64(u8Max), // proc_dou8vec_minmax, no extra bounds
			Unit: "count", Scope: ScopeNetns, Default: "5",
			Doc:    "Times a SYNACK for a passive open is retransmitted; 5 is about 31 s plus the last timeout",
			Source: ipv4Src,
		},
		{
			Key: sysctl.Known("net.ipv4.tcp_syn_linear_timeouts", "net/ipv4/tcp_syn_linear_timeouts"), Type: TypeInt,
			Min: i64(0), Max: i64(127), // extra2 = &tcp_syn_linear_timeouts_max (MAX_TCP_SYNCNT)
			Unit: "count", Scope: ScopeNetns, Default: "4", Since: "6.5",
			Doc:    "SYN and SYNACK retransmissions that use a linear (not exponential) timeout, for fast recovery of lost handshakes",
			Source: ipv4Src,
		},
		{
			Key: sysctl.Known("net.ipv4.tcp_max_syn_backlog", "net/ipv4/tcp_max_syn_backlog"), Type: TypeInt,
			Min: i64(intMin), Max: i64(intMax), UsefulMin: i64(1), // proc_dointvec
			Unit: "connections", Scope: ScopeNetns,
			DefaultNote: "computed at boot from the TCP hash table size, at least 128",
			Doc:         "Remembered connection requests (SYN_RECV) per listener; with syncookies off, a nearly full queue drops unverified SYNs",
			Source:      ipv4Src,
		},
		{
			Key: sysctl.Known("net.ipv4.tcp_abort_on_overflow", "net/ipv4/tcp_abort_on_overflow"), Type: TypeBool,
			Min: i64(0), Max: i64(1), // the kernel's u8 handler takes 0..255, but the key is documented BOOLEAN
			Unit: "flag", Scope: ScopeNetns, Default: "0",
			Doc:    "Reset new connections when the accept queue is full instead of dropping the final ACK",
			Source: ipv4Src,
		},

		// Connection teardown and reuse.
		{
			Key: sysctl.Known("net.ipv4.tcp_tw_reuse", "net/ipv4/tcp_tw_reuse"), Type: TypeInt,
			Min: i64(0), Max: i64(2), Values: []int64{0, 1, 2}, // extra1 = SYSCTL_ZERO, extra2 = SYSCTL_TWO
			Unit: "mode", Scope: ScopeNetns, Default: "2",
			Doc:    "Reuse TIME-WAIT sockets for new outgoing connections when safe: 1 always, 2 loopback only, 0 never",
			Source: ipv4Src,
		},
		{
			Key: sysctl.Known("net.ipv4.tcp_tw_recycle", "net/ipv4/tcp_tw_recycle"), Type: TypeBool,
			Min: i64(0), Max: i64(1), Unit: "flag", Scope: ScopeNetns,
			// Commit 4396e46187ca ("tcp: remove tcp_tw_recycle"), Linux 4.12.
			RemovedIn:   "4.12",
			RemovedHint: "it broke clients behind NAT and is gone; for outgoing connections use net.ipv4.tcp_tw_reuse",
			Doc:         "Fast recycling of TIME-WAIT sockets (removed)",
			Source:      ipv4Src,
		},
		{
			Key: sysctl.Known("net.ipv4.tcp_fin_timeout", "net/ipv4/tcp_fin_timeout"), Type: TypeInt,
			Min: i64(-jiffiesMax), Max: i64(jiffiesMax), UsefulMin: i64(0), // proc_dointvec_jiffies
			Unit: "seconds", Scope: ScopeNetns, Default: "60",
			Doc:    "Time an orphaned connection waits in FIN-WAIT-2 for the peer's FIN before it is aborted",
			Source: ipv4Src,
		},
		{
			Key: sysctl.Known("net.ipv4.tcp_max_tw_buckets", "net/ipv4/tcp_max_tw_buckets"), Type: TypeInt,
			Min: i64(intMin), Max: i64(intMax), UsefulMin: i64(0), // proc_dointvec
			Unit: "sockets", Scope: ScopeNetns,
			DefaultNote: "computed at boot: half the TCP established hash table size",
			Doc:         "Maximum TIME-WAIT sockets held; beyond it they are destroyed at once and a warning is logged",
			Source:      ipv4Src,
		},
		{
			Key: sysctl.Known("net.ipv4.tcp_max_orphans", "net/ipv4/tcp_max_orphans"), Type: TypeInt,
			Min: i64(intMin), Max: i64(intMax), UsefulMin: i64(0), // ipv4_table: proc_dointvec
			Unit: "sockets", Scope: ScopeGlobal,
			DefaultNote: "computed at boot from RAM",
			NetnsNote:   "host-wide (ipv4_table); absent in child network namespaces",
			Doc:         "Maximum TCP sockets not attached to a file handle; beyond it orphans are reset at once",
			Source:      ipv4Src,
		},

		// Keepalive.
		{
			Key: sysctl.Known("net.ipv4.tcp_keepalive_time", "net/ipv4/tcp_keepalive_time"), Type: TypeInt,
			Min: i64(-jiffiesMax), Max: i64(jiffiesMax), UsefulMin: i64(1), // proc_dointvec_jiffies
			Unit: "seconds", Scope: ScopeNetns, Default: "7200",
			Doc:    "Idle time before the first keepalive probe on sockets with SO_KEEPALIVE",
			Source: ipv4Src,
		},
		{
			Key: sysctl.Known("net.ipv4.tcp_keepalive_intvl", "net/ipv4/tcp_keepalive_intvl"), Type: TypeInt,
			Min: i64(-jiffiesMax), Max: i64(jiffiesMax), UsefulMin: i64(1), // proc_dointvec_jiffies
			Unit: "seconds", Scope: ScopeNetns, Default: "75",
			Doc:    "Time between keepalive probes",
			Source: ipv4Src,
		},
		{
			Key: sysctl.Known("net.ipv4.tcp_keepalive_probes", "net/ipv4/tcp_keepalive_probes"), Type: TypeInt,
			Min: i64(0), Max: i64(u8Max), // proc_dou8vec_minmax
			Unit: "count", Scope: ScopeNetns, Default: "9",
			Doc:    "Unanswered keepalive probes before the connection is declared dead",
			Source: ipv4Src,
		},

		// Memory.
		{
			Key: sysctl.Known("net.ipv4.tcp_mem", "net/ipv4/tcp_mem"), Type: TypeVector, Fields: 3,
			FieldNames: []string{"min", "pressure", "max"},
			Min:        i64(0), Max: i64(longMax), // ipv4_table: proc_doulongvec_minmax
			Unit: "pages", Scope: ScopeGlobal,
			DefaultNote: "computed at boot from RAM",
			NetnsNote:   "host-wide (ipv4_table); absent in child network namespaces",
			Doc:         "Memory for all TCP sockets, in pages: no pressure below min, moderation above pressure, hard limit at max",
			Source:      ipv4Src,
		},
		{
			Key: sysctl.Known("net.ipv4.tcp_rmem", "net/ipv4/tcp_rmem"), Type: TypeVector, Fields: 3,
			FieldNames: []string{"min", "default", "max"},
			Min:        i64(1), Max: i64(intMax), // proc_dointvec_minmax, extra1 = SYSCTL_ONE
			Unit: "bytes", Scope: ScopeNetns,
			// Commit 572be9bf9d0d ("tcp: increase tcp_rmem[2] to 32 MB"), Linux
			// 6.16; 4096 131072 6291456 before.
			Default: "4096 131072 33554432",
			Doc:     "TCP receive buffer per socket: minimum, initial and autotuning maximum",
			Source:  ipv4Src,
		},
		{
			Key: sysctl.Known("net.ipv4.tcp_wmem", "net/ipv4/tcp_wmem"), Type: TypeVector, Fields: 3,
			FieldNames: []string{"min", "default", "max"},
			Min:        i64(1), Max: i64(intMax), // proc_dointvec_minmax, extra1 = SYSCTL_ONE
			Unit: "bytes", Scope: ScopeNetns, Default: "4096 16384 4194304",
			Doc:    "TCP send buffer per socket: minimum, initial and autotuning maximum",
			Source: ipv4Src,
		},

		// Ports.
		{
			Key: sysctl.Known("net.ipv4.ip_local_port_range", "net/ipv4/ip_local_port_range"), Type: TypeVector, Fields: 2,
			FieldNames: []string{"low", "high"},
			// ip_local_port_range_min/max = {1, 1}/{65535, 65535}; the handler
			// also refuses high < low and low < ip_unprivileged_port_start.
			Min: i64(1), Max: i64(65535),
			Unit: "ports", Scope: ScopeNetns, Default: "32768 60999",
			Doc:    "Ephemeral ports for outgoing connections; prefer low and high of different parity",
			Source: ipv4Src,
		},
		{
			Key: sysctl.Known("net.ipv4.ip_local_reserved_ports", "net/ipv4/ip_local_reserved_ports"), Type: TypePorts,
			Min: i64(0), Max: i64(65535), // proc_do_large_bitmap over 65536 bits
			Unit: "ports", Scope: ScopeNetns, Default: "",
			DefaultNote: "empty",
			Doc:         "Ports automatic assignment must skip (comma-separated, ranges as a-b)",
			Source:      ipv4Src,
		},
		{
			Key: sysctl.Known("net.ipv4.ip_unprivileged_port_start", "net/ipv4/ip_unprivileged_port_start"), Type: TypeInt,
			// ip_privileged_port_min/max = 0/65535; the handler also refuses a
			// value above the low end of ip_local_port_range.
			Min: i64(0), Max: i64(65535),
			Unit: "port", Scope: ScopeNetns, Default: "1024", Since: "4.11",
			Doc:    "First port an unprivileged process may bind",
			Source: ipv4Src,
		},

		// Congestion control.
		{
			Key: sysctl.Known("net.ipv4.tcp_congestion_control", "net/ipv4/tcp_congestion_control"), Type: TypeString,
			Unit: "algorithm", Scope: ScopeNetns, Default: "cubic", // CONFIG_DEFAULT_TCP_CONG, usually cubic
			NetnsNote: "per network namespace since Linux 4.15; a child namespace starts with the host's choice",
			Doc:       "Default congestion control for new connections; must be in tcp_available_congestion_control or loadable",
			Source:    ipv4Src,
		},
	}
}
