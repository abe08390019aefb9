package lab

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReadCounters reads the doctor's fixture files: both files merge into
// "Group.Name", a negative gauge (Tcp MaxConn -1) is absent, not zero, and a
// broken file is an error naming it.
func TestReadCounters(t *testing.T) {
	const dir = "../doctor/testdata/linux-6.18/"
	c, err := ReadCounters(dir+"netstat", dir+"snmp")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, n := range []string{"TcpExt.ListenOverflows", "TcpExt.TW", "Tcp.ActiveOpens", "Tcp.OutRsts", "Ip.Forwarding"} {
		got[n] = c[n]
	}
	want := map[string]int64{"TcpExt.ListenOverflows": 1234, "TcpExt.TW": 90, "Tcp.ActiveOpens": 92, "Tcp.OutRsts": 99, "Ip.Forwarding": 2}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("counters (-want +got):\n%s", d)
	}
	if v, ok := c["Tcp.MaxConn"]; ok {
		t.Errorf("Tcp.MaxConn = %d, want absent", v)
	}
	if _, err := ReadCounters("../doctor/testdata/broken/netstat"); err == nil || !strings.Contains(err.Error(), "broken/netstat") {
		t.Errorf("broken netstat: err = %v, want one naming the file", err)
	}
	d := Delta(Counters{"a": 1, "b": 5}, Counters{"a": 4, "c": 2}, []string{"a", "b", "c"})
	if diff := cmp.Diff(map[string]int64{"a": 3}, d); diff != "" {
		t.Errorf("Delta (-want +got):\n%s", diff)
	}
}
