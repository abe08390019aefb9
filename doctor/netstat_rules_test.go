package doctor

import "testing"

// TestRulesCountersSurviveTheReader: every TcpExt counter a rule reads is
// kept by the real netstat reader. The keep-alive race, resets-received and
// dead-backend rules were tested only on hand-built snapshots, while the
// reader dropped TCPAbortOnData, TCPAbortOnClose, TCPAbortOnTimeout,
// TCPAbortOnLinger and TCPSynRetrans, so on a live kernel they never fired
// (or, for resets-received, counted this host's own resets as the peer's).
func TestRulesCountersSurviveTheReader(t *testing.T) {
	s, err := Collect(Source{ProcRoot: fixtureTree(t, "linux-6.18", "netstat")})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{TCPAbortOnData, TCPAbortOnClose, TCPAbortOnTimeout, TCPAbortOnLinger, TCPSynRetrans,
		TCPAbortOnMemory, ListenOverflows, SyncookiesRecv} {
		if _, ok := s.TCPExt.Get(n); !ok {
			t.Errorf("TcpExt.%s is dropped by the reader", n)
		}
	}
}
