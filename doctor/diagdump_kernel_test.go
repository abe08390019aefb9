package doctor

import (
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcptune/tcptune/internal/nstest"
)

// diagDump reads a dump that spans several receive batches (600 listeners
// with their memory info are about 60 KiB of answers, at most 8 KiB per batch), and
// every listener comes back once: the loop over batches and messages, on the
// real kernel.
func TestDiagDumpKernelManyListeners(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	nstest.Guard(t)
	const n = 600
	want := map[string]bool{}
	for i := 0; i < n; i++ {
		network, addr := "tcp4", "127.0.0.1:0"
		if i%2 == 1 {
			network, addr = "tcp6", "[::1]:0"
		}
		l, err := net.Listen(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		want[l.Addr().(*net.TCPAddr).AddrPort().String()] = true
	}
	ls, err := LiveListeners()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, l := range ls {
		got[l.Endpoint()]++
	}
	for p := range want {
		if got[p] != 1 {
			t.Errorf("listener %s seen %d times, want once", p, got[p])
		}
	}
	if len(ls) != n {
		t.Errorf("%d listeners, want %d", len(ls), n)
	}
	// The one compatibility request answers what one request per family does.
	byFamily, err := readListenersByFamily()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(byFamily, ls); d != "" {
		t.Errorf("one request for both families differs from one per family (-per family +both):\n%s", d)
	}
}
