// Package resettrace watches the TCP resets the kernel sends and receives
// and names the cause of each, as the kernel saw it.
//
// Since Linux 6.10 the tracepoint tcp:tcp_send_reset carries the kernel's
// own reason (enum sk_rst_reason, include/net/rstreason.h) with the socket
// state and both endpoints; tcp:tcp_receive_reset marks resets that came
// from the other side. Each event is read by a BPF program (tp_btf) that
// also records the network namespace (the inode of sk->skc_net, or of the
// receiving device's namespace when there is no socket), the socket owner's
// cgroup and, where the reset is sent from a system call, the process.
//
// The programs are attached through BPF links held by file descriptors of
// this process only: nothing is pinned, no tracing setting is changed, and
// when tcptune exits, however it exits, the kernel detaches them.
//
// Classify turns an event into a Cause; Aggregate folds events into one
// Row per cause, namespace and local endpoint, with the fix. Kernels before
// 6.10 have no reason: events are classified by socket state and the rows
// say that the reason was unavailable.
package resettrace
