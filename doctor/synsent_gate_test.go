package doctor

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSockstat6InUse(t *testing.T) {
	n, err := parseSockstat6InUse(strings.NewReader("TCP6: inuse 7\nUDP6: inuse 2\nRAW6: inuse 0\n"))
	if err != nil || n != 7 {
		t.Errorf("got %d, %v; want 7", n, err)
	}
	for _, bad := range []string{"UDP6: inuse 2\n", "TCP6: inuse x\n", "TCP6: inuse -1\n", "TCP6: orphan 3\n"} {
		if _, err := parseSockstat6InUse(strings.NewReader(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestJudgeGate(t *testing.T) {
	c := func(inUse int, est uint64) gateCounts { return gateCounts{inUse: inUse, currEstab: est} }
	tests := []struct {
		name          string
		first, second gateCounts
		listeners     int
		walk          string // "" = proven none
		others        int64
	}{
		{"only listeners and established", c(43, 40), c(43, 40), 3, "", 0},
		{"empty namespace", c(0, 0), c(0, 0), 0, "", 0},
		{"one other socket", c(44, 40), c(44, 40), 3, "1 socket(s) neither listening nor established", 1},
		{"inuse moved", c(43, 40), c(44, 40), 3, "changed state during the reading", 0},
		{"CurrEstab moved", c(43, 40), c(43, 39), 3, "changed state during the reading", 0},
		{"more listeners than inuse", c(2, 0), c(2, 0), 3, "the counters disagree", -1},
		{"CurrEstab above inuse", c(5, 6), c(5, 6), 0, "the counters disagree", -1},
		{"CurrEstab wrapped below zero", c(5, 1<<64-1), c(5, 1<<64-1), 0, "the counters disagree", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := judgeGate(tt.first, tt.second, tt.listeners)
			if (tt.walk == "") != (g.Walk == "") || !strings.Contains(g.Walk, tt.walk) || g.Others() != tt.others {
				t.Errorf("got walk %q others %d, want walk containing %q, others %d", g.Walk, g.Others(), tt.walk, tt.others)
			}
		})
	}
}

// gateTree is a fixture proc tree with the gate's counters: sockstat TCP
// inuse, sockstat6 TCP6 inuse (omitted when v6 < 0) and snmp Tcp CurrEstab
// (12 in linux-6.18's snmp).
func gateTree(t *testing.T, inUse, v6 string) (root, netDir string) {
	t.Helper()
	root = fixtureTree(t, "linux-6.18")
	netDir = filepath.Join(root, "1", "task", "1", "net")
	writeNet(t, netDir, "sockstat", "sockets: used 20\nTCP: inuse "+inUse+" orphan 0 tw 5 alloc 16 mem 1\n")
	if v6 != "" {
		writeNet(t, netDir, "sockstat6", "TCP6: inuse "+v6+"\nUDP6: inuse 0\n")
	}
	return root, netDir
}

func writeNet(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCollectSynSentGate(t *testing.T) {
	three := func() ([]Listener, error) { return make([]Listener, 3), nil }
	type want struct {
		walked bool
		gate   string // "-" no gate; "" proven none; else part of Walk
	}
	tests := []struct {
		name      string
		inUse, v6 string
		gateOff   bool
		listeners func(netDir string) func() ([]Listener, error)
		edit      func(t *testing.T, netDir string)
		want      want
	}{
		// 3 listeners + 12 established = 15 hashed sockets.
		{name: "v4 and v6 counts prove none", inUse: "13", v6: "2", want: want{false, ""}},
		{name: "no sockstat6: no IPv6 sockets", inUse: "15", want: want{false, ""}},
		{name: "an IPv6 socket neither listening nor established", inUse: "13", v6: "3", want: want{true, "1 socket(s)"}},
		{name: "gate off", inUse: "15", gateOff: true, want: want{true, "-"}},
		{name: "counters move during the listener dump", inUse: "15", v6: "0",
			listeners: func(netDir string) func() ([]Listener, error) {
				return func() ([]Listener, error) {
					// a connect started and another connection closed: inuse moved
					return make([]Listener, 3), os.WriteFile(filepath.Join(netDir, "sockstat"), []byte("TCP: inuse 16 orphan 0 tw 5 alloc 16 mem 1\n"), 0o644)
				}
			}, want: want{true, "changed state during the reading"}},
		{name: "listeners not read", inUse: "15",
			listeners: func(string) func() ([]Listener, error) {
				return func() ([]Listener, error) { return nil, errors.New("netlink refused") }
			}, want: want{true, "listeners not read"}},
		{name: "snmp without CurrEstab", inUse: "15",
			edit: func(t *testing.T, netDir string) {
				writeNet(t, netDir, "snmp", "Tcp: RtoAlgorithm ActiveOpens\nTcp: 1 92\n")
			}, want: want{true, "no Tcp CurrEstab"}},
		{name: "unreadable sockstat6", inUse: "13", v6: "x", want: want{true, "counters not read"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, netDir := gateTree(t, tt.inUse, tt.v6)
			if tt.edit != nil {
				tt.edit(t, netDir)
			}
			ls := three
			if tt.listeners != nil {
				ls = tt.listeners(netDir)
			}
			dumps := 0
			s, err := Collect(Source{ProcRoot: root, Listeners: ls, GateConnecting: !tt.gateOff,
				Connecting: func() ([]Connecting, error) { dumps++; return []Connecting{{Remote: "10.0.0.9:80"}}, nil }})
			if err != nil {
				t.Fatal(err)
			}
			if s.SynSent.Walked != tt.want.walked || (dumps == 1) != tt.want.walked || !s.ConnectingRead {
				t.Fatalf("walked=%v dumps=%d read=%v, want walked=%v", s.SynSent.Walked, dumps, s.ConnectingRead, tt.want.walked)
			}
			g := s.SynSent.Gate
			switch {
			case tt.want.gate == "-":
				if g != nil {
					t.Errorf("gate %+v, want none", g)
				}
			case g == nil:
				t.Fatalf("no gate recorded, want %q", tt.want.gate)
			case tt.want.gate == "" && g.Walk != "", tt.want.gate != "" && !strings.Contains(g.Walk, tt.want.gate):
				t.Errorf("gate walk %q, want %q", g.Walk, tt.want.gate)
			}
			if !tt.want.walked && len(s.Connecting) != 0 {
				t.Errorf("connecting %v without a walk", s.Connecting)
			}
		})
	}
}
