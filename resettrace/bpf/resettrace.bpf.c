// SPDX-License-Identifier: GPL-2.0
//
// tcptune doctor --trace: one event per TCP reset the kernel sends or
// receives, with the namespace, the socket state, the reason and both
// endpoints. Attached as tp_btf programs through BPF links that belong to
// the tcptune process: when it exits (or is killed) the links close and
// the programs are gone.
//
// Regenerate the Go bindings with `make bpf` (bpftool, clang, libbpf-dev).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define AF_INET6 10
#define TCP_TIME_WAIT 6
#define TCP_NEW_SYN_RECV 12
#define TCP_LISTEN 10

enum rst_kind { KIND_SENT = 0, KIND_RECEIVED = 1 };

struct event {
	__u64 ts_ns;
	__u64 sk_cgroup;  // cgroup id of the socket's owner (full sockets)
	__u64 cur_cgroup; // cgroup id of the current task
	__u32 netns;      // network namespace inode
	__u32 pid;        // current tgid (meaningful in process context only)
	__s32 reason;     // enum sk_rst_reason, -1 when the kernel has none
	__u8 kind;        // enum rst_kind
	__u8 state;       // socket state, 0 when there is no socket
	__u8 has_sk;
	__u8 has_skb;
	__u16 family;
	__u16 lport;      // host order
	__u16 rport;      // host order
	__u8 has_file;  // a full socket still attached to a file (not orphaned, not unaccepted)
	__u8 pad[5];
	__u8 laddr[16];
	__u8 raddr[16];
	char comm[16];
};

// Keep struct event in BTF for bpf2go -type event.
const struct event *unused_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

// lost counts events the ring buffer had no room for.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

static __always_inline void count_lost(void)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&lost, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline void from_sock(struct event *e, const struct sock *sk)
{
	const struct sock_common *c = &sk->__sk_common;
	e->has_sk = 1;
	e->state = BPF_CORE_READ(c, skc_state);
	e->family = BPF_CORE_READ(c, skc_family);
	e->netns = BPF_CORE_READ(c, skc_net.net, ns.inum);
	e->lport = BPF_CORE_READ(c, skc_num);
	e->rport = bpf_ntohs(BPF_CORE_READ(c, skc_dport));
	if (e->family == AF_INET6) {
		BPF_CORE_READ_INTO(&e->laddr, c, skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&e->raddr, c, skc_v6_daddr.in6_u.u6_addr8);
	} else {
		BPF_CORE_READ_INTO(&e->laddr, c, skc_rcv_saddr);
		BPF_CORE_READ_INTO(&e->raddr, c, skc_daddr);
	}
	// Only full sockets carry the owner's cgroup (not time-wait or
	// request sockets).
	if (e->state != TCP_TIME_WAIT && e->state != TCP_NEW_SYN_RECV) {
		struct cgroup *cg = BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
		if (cg)
			e->sk_cgroup = BPF_CORE_READ(cg, kn, id);
		e->has_file = BPF_CORE_READ(sk, sk_socket) != 0;
		// A socket the kernel already moved to CLOSE has given its port
		// back (skc_num is 0); inet_sport still holds it.
		if (!e->lport) {
			const struct inet_sock *inet = (const struct inet_sock *)sk;
			e->lport = bpf_ntohs(BPF_CORE_READ(inet, inet_sport));
		}
	}
}

// from_skb fills the endpoints from a received segment: its destination
// is the local end.
static __always_inline void from_skb(struct event *e, const struct sk_buff *skb)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u16 th = BPF_CORE_READ(skb, transport_header);
	struct tcphdr t = {};
	struct net_device *dev = BPF_CORE_READ(skb, dev);

	e->has_skb = 1;
	if (dev && !e->netns)
		e->netns = BPF_CORE_READ(dev, nd_net.net, ns.inum);
	__u8 ver = 0;
	bpf_probe_read_kernel(&ver, 1, head + nh);
	ver >>= 4;
	if (ver == 4) {
		struct iphdr ip = {};
		bpf_probe_read_kernel(&ip, sizeof(ip), head + nh);
		e->family = AF_INET;
		__builtin_memcpy(e->laddr, &ip.daddr, 4);
		__builtin_memcpy(e->raddr, &ip.saddr, 4);
	} else if (ver == 6) {
		struct ipv6hdr ip6 = {};
		bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh);
		e->family = AF_INET6;
		__builtin_memcpy(e->laddr, &ip6.daddr, 16);
		__builtin_memcpy(e->raddr, &ip6.saddr, 16);
	}
	bpf_probe_read_kernel(&t, sizeof(t), head + th);
	e->lport = bpf_ntohs(t.dest);
	e->rport = bpf_ntohs(t.source);
}

static __always_inline int emit(const struct sock *sk, const struct sk_buff *skb, __s32 reason, __u8 kind)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost();
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->reason = reason;
	e->kind = kind;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->cur_cgroup = bpf_get_current_cgroup_id();
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	if (sk)
		from_sock(e, sk);
	// Without a socket, and for a listener (whose socket has no peer),
	// the endpoints are the received segment's.
	if (skb && (!sk || e->state == TCP_LISTEN))
		from_skb(e, skb);
	e->has_skb = skb != 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

// Linux 6.10+: tcp_send_reset(sk, skb, reason).
SEC("tp_btf/tcp_send_reset")
int BPF_PROG(tcptune_rst_send, const struct sock *sk, const struct sk_buff *skb, int reason)
{
	return emit(sk, skb, reason, KIND_SENT);
}

// Before 6.10: tcp_send_reset(sk, skb), no reason.
SEC("tp_btf/tcp_send_reset")
int BPF_PROG(tcptune_rst_send_noreason, const struct sock *sk, const struct sk_buff *skb)
{
	return emit(sk, skb, -1, KIND_SENT);
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(tcptune_rst_recv, struct sock *sk)
{
	return emit(sk, 0, -1, KIND_RECEIVED);
}
