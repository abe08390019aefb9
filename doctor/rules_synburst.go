package doctor

import (
	"fmt"

	"github.com/tcptune/tcptune/validate"
)

// tellSynBurst tells a SYN flood apart from a surge of real clients. Both
// fill the SYN queue and make the kernel send syncookies; a real client
// answers its cookie (SyncookiesRecv: a valid cookie came back and the
// connection was set up), a spoofed SYN never does. When at least half of
// the cookies came back, the syn-flood finding is a burst of legitimate
// clients instead: a bigger SYN queue and accept queue help them, flood
// defences (fewer SYN-ACK retries) do not.
func tellSynBurst(w *Window, fs []Finding) {
	for i := range fs {
		f := &fs[i]
		if f.ID != "syn-flood" {
			continue
		}
		_, sent, okS := counterEvidence(w, "TcpExt", tcpExtOf, SyncookiesSent)
		recvE, recv, okR := counterEvidence(w, "TcpExt", tcpExtOf, "SyncookiesRecv")
		if !okS || !okR || sent == 0 {
			continue
		}
		f.Evidence = append(f.Evidence, recvE)
		if recv*2 < sent {
			f.Explanation += fmt.Sprintf(" Only %d of %d cookies came back (SyncookiesRecv): most SYNs had no client behind them, a flood.", recv, sent)
			continue
		}
		f.ID = "syn-burst"
		f.Summary = fmt.Sprintf("a burst of real clients overflowed the SYN queue %s: %d of %d syncookies came back", windowText(w), recv, sent)
		f.Explanation = "More connection attempts arrived at once than a listener's SYN queue holds, and the kernel answered " +
			"with syncookies. Most cookies came back (SyncookiesRecv), so these were real clients completing their " +
			"handshakes, not a flood: give the listener a longer SYN queue and accept queue (tcp_max_syn_backlog, " +
			"somaxconn and its own backlog). Connections set up by a cookie lose some TCP options."
		f.Fix = profileFix("high-concurrency", validate.KeySynBacklog, keySomaxconn)
	}
}
