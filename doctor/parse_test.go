package doctor

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func TestParseNetstat(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string]map[string]uint64
		wantErr  string
	}{
		{name: "two sections, negative gauge skipped",
			in:   "Tcp: RtoMin MaxConn OutRsts\nTcp: 200 -1 7\nTcpExt: ListenOverflows\nTcpExt: 18446744073709551615\n",
			want: map[string]map[string]uint64{"Tcp": {"RtoMin": 200, "OutRsts": 7}, "TcpExt": {"ListenOverflows": 1<<64 - 1}}},
		{name: "empty file", in: "", want: map[string]map[string]uint64{}},
		{name: "header without values", in: "TcpExt: A B\n", wantErr: "line 1: TcpExt: header without a values line"},
		{name: "fewer values", in: "TcpExt: A B\nTcpExt: 1\n", wantErr: "line 2: TcpExt has 2 names but 1 values"},
		{name: "values of another section", in: "TcpExt: A\nIpExt: 1\n", wantErr: "does not match header"},
		{name: "not a number", in: "TcpExt: A B\nTcpExt: 1 x\n", wantErr: `line 2: TcpExt.B: "x" is not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseNetstat(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// diagMsg builds a struct inet_diag_msg as the kernel sends it.
func diagMsg(family, state uint8, addr []byte, port uint16, rq, wq, inode uint32) []byte {
	b := make([]byte, sizeofInetDiagMsg)
	b[0], b[1] = family, state
	binary.BigEndian.PutUint16(b[4:6], port)
	copy(b[8:24], addr)
	n := binary.NativeEndian
	n.PutUint32(b[56:60], rq)
	n.PutUint32(b[60:64], wq)
	n.PutUint32(b[68:72], inode)
	return b
}

func TestParseInetDiagMsg(t *testing.T) {
	v6 := make([]byte, 16)
	v6[15] = 1
	tests := []struct {
		name string
		msg  []byte
		want diagListener
	}{
		{"ipv4", diagMsg(unix.AF_INET, tcpListen, []byte{127, 0, 0, 1}, 8080, 3, 2, 4242),
			diagListener{Listener: Listener{Family: "ipv4", Address: "127.0.0.1", Port: 8080, Queue: 3, MaxQueue: 2, Inode: 4242}, state: tcpListen}},
		{"ipv6", diagMsg(unix.AF_INET6, tcpListen, v6, 443, 0, 4096, 7),
			diagListener{Listener: Listener{Family: "ipv6", Address: "::1", Port: 443, Queue: 0, MaxQueue: 4096, Inode: 7}, state: tcpListen}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseInetDiagMsg(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got, cmp.AllowUnexported(diagListener{})); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	if _, err := parseInetDiagMsg(make([]byte, 40)); err == nil {
		t.Error("short message accepted")
	}
	if _, err := parseInetDiagMsg(diagMsg(99, tcpListen, nil, 1, 0, 0, 0)); err == nil {
		t.Error("unknown family accepted")
	}
	if got := (Listener{Address: "::", Port: 80}).Endpoint(); got != "[::]:80" {
		t.Errorf("Endpoint = %q", got)
	}
}

func TestInetDiagListenRequest(t *testing.T) {
	b := inetDiagListenRequest(unix.AF_INET6)
	if len(b) != sizeofInetDiagReq || b[0] != unix.AF_INET6 || b[1] != unix.IPPROTO_TCP {
		t.Fatalf("request header wrong: % x", b[:8])
	}
	// Only the LISTEN bit: the kernel must not walk established sockets.
	if got := binary.NativeEndian.Uint32(b[4:8]); got != 1<<10 {
		t.Errorf("state mask = %#x, want LISTEN only (%#x)", got, 1<<10)
	}
}

// A sockstat without a TCP line leaves every field absent (nil), not zero;
// fields a newer kernel adds are ignored.
func TestParseSockstatAbsence(t *testing.T) {
	st, err := parseSockstat(strings.NewReader("sockets: used 1\nUDP: inuse 0\n"))
	if err != nil || st != (Sockstat{}) {
		t.Fatalf("no TCP line: got %+v, %v", st, err)
	}
	st, err = parseSockstat(strings.NewReader("TCP: inuse 2 newfield 7 mem 1\n"))
	if err != nil || st.InUse == nil || *st.InUse != 2 || st.Mem == nil || *st.Mem != 1 || st.Orphan != nil {
		t.Fatalf("partial TCP line: got %+v, %v", st, err)
	}
}

// softnet_stat columns are 32-bit hex; a value that is not is an error.
func TestParseSoftnetRejectsWideValues(t *testing.T) {
	row := "100000000 0 0 0 0 0 0 0 0\n"
	if _, err := parseSoftnet(strings.NewReader(row)); err == nil {
		t.Fatal("a 33-bit column was accepted")
	}
}
