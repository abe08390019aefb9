// Package doctor reads the kernel's own evidence about TCP trouble and turns
// it into findings: what is overflowing, on which listener, which profile or
// key addresses it, and what must be restarted.
//
// Sources, one file each (reader/parser split; procfs parses where it can):
//
//   - netstat.go:   /proc/net/netstat, TcpExt counters (ListenOverflows, ...)
//   - snmp.go:      /proc/net/snmp, Tcp counters (OutRsts, ...)
//   - sockstat.go:  /proc/net/sockstat, TCP gauges (orphan, tw, mem), and
//     /proc/net/sockstat6's TCP6 inuse
//   - softnet.go:   /proc/net/softnet_stat, per-CPU backlog drops (host-wide)
//   - listeners.go: LISTEN sockets with their accept queue, via inet_diag
//   - synsent.go:   SYN-SENT sockets via inet_diag (a walk of the kernel's
//     whole socket table); synsent_gate.go: when counters prove there are none
//   - sysctls.go:   the live sysctls the rules compare against
//
// A Snapshot is one reading of all of them. Sample takes two readings an
// interval apart so findings rest on rates, not on counters accumulated since
// boot; Analyze turns a Window (before, after) into Findings.
//
// Absence is a value throughout: a counter an older kernel does not print is
// missing from Counters, never zero, and a source that could not be read is
// listed in Snapshot.Unavailable ("could not tell" is not "healthy").
//
// Network namespaces: /proc/net follows the thread group leader, and
// /proc/sys/net follows the netns of the thread that opens the file. Collect
// therefore resolves the proc directory of the calling thread
// (/proc/thread-self) and does every read on that thread; netns.Do runs it on
// a locked OS thread that has entered the target namespace.
package doctor
