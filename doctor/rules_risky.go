package doctor

import (
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/validate"
)

// riskySettingRule flags live values known to cause trouble, whatever the
// counters say.
func riskySettingRule(w *Window, _ []ListenerReport) []Finding {
	s := w.After.Sysctls
	var out []Finding
	if v, ok := s.Int(validate.KeyAbort, 0); ok && v != 0 {
		f := Finding{ID: "risky-setting", Severity: Warning,
			Summary: "net.ipv4.tcp_abort_on_overflow=1: a full accept queue resets clients (\"connection reset by peer\")",
			Explanation: "With 1, every connection that completes its handshake while the accept queue is full is answered " +
				"with a reset, so a short burst turns into client errors instead of a short delay. 0 (the default) lets " +
				"the client retransmit while the server catches up. Use 1 only when clients must fail fast and retry elsewhere.",
		}
		f.Evidence, _ = one(sysctlEvidence(s, validate.KeyAbort))
		f.Fix = profileFix("high-concurrency", validate.KeyAbort)
		out = append(out, f)
	}
	if v, ok := s.Int(validate.KeySyncookies, 0); ok && v == 0 {
		f := Finding{ID: "risky-setting", Severity: Warning,
			Summary: "net.ipv4.tcp_syncookies=0: a SYN flood or a burst fills the SYN queue and real clients are dropped",
			Explanation: "Without syncookies a full SYN queue drops new connection requests; a SYN flood then locks out " +
				"legitimate clients. With 1 (the default) the kernel falls back to cookies only when a queue overflows.",
		}
		f.Evidence, _ = one(sysctlEvidence(s, validate.KeySyncookies))
		f.Fix = profileFix("syn-flood", validate.KeySyncookies)
		out = append(out, f)
	}
	// tcp_tw_recycle was removed in Linux 4.12 (commit 4396e46187ca); on
	// older kernels 1 drops SYNs from clients behind NAT.
	if v, ok := s.Int(keyTwRecycle, 0); ok && v != 0 {
		f := Finding{ID: "risky-setting", Severity: Critical,
			Summary: "net.ipv4.tcp_tw_recycle=1: clients behind NAT fail to connect",
			Explanation: "tcp_tw_recycle drops SYNs whose TCP timestamp is older than the last one seen from the same " +
				"address; clients sharing a NAT address have unrelated clocks, so some of them cannot connect at all. " +
				"Linux 4.12 removed the setting. Use tcp_tw_reuse for port pressure instead.",
		}
		f.Evidence, _ = one(sysctlEvidence(s, keyTwRecycle))
		f.Fix = keyFix(keyTwRecycle, "0", profiles.OpExact)
		out = append(out, f)
	}
	return out
}

func one(e Evidence, ok bool) ([]Evidence, bool) {
	if !ok {
		return nil, false
	}
	return []Evidence{e}, true
}
