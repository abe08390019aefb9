package apply

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tcptune/tcptune/sysctl"
)

// TestPruneRecords: the state directory keeps at most MaxRecords records,
// the newest ones, and never a crashed one.
func TestPruneRecords(t *testing.T) {
	e := newTxEnv(t, stock)
	e.opts.NoPersist = true
	st := store{dir: e.opts.StateDir}
	somaxconn := sysctl.MustKey("net.core.somaxconn")
	n := MaxRecords + 5
	want := ""
	for i := 0; i < n; i++ {
		want = []string{"1000", "2000"}[i%2]
		body := "name: p\nsettings:\n  net.core.somaxconn: " + want + "\n"
		if _, err := Apply(context.Background(), profileFile(t, body), e.opts); err != nil {
			t.Fatalf("apply %d: %v", i, err)
		}
	}
	recs, err := st.list()
	must(t, err)
	if len(recs) != MaxRecords {
		t.Fatalf("%d records kept, want %d", len(recs), MaxRecords)
	}
	if recs[len(recs)-1].Seq != n || recs[0].Seq != n-MaxRecords+1 {
		t.Errorf("kept seqs %d..%d, want %d..%d", recs[0].Seq, recs[len(recs)-1].Seq, n-MaxRecords+1, n)
	}
	if v, _ := e.fs.Read(somaxconn); string(v) != want {
		t.Errorf("somaxconn = %s", v)
	}

	// A crashed record survives pruning.
	crashed := &Record{Format: recordFormat, ID: txIDFor(0, e.opts.Now()), Seq: 0, State: TxApplying, Originals: []Original{}}
	must(t, st.create(crashed))
	l, err := st.scan()
	must(t, err)
	must(t, st.prune(l, 10))
	if _, err := os.Stat(filepath.Join(st.txDir(), crashed.ID+".json")); err != nil {
		t.Errorf("crashed record pruned: %v", err)
	}
	left, err := st.list()
	must(t, err)
	if len(left) != 11 {
		t.Errorf("%d records after prune to 10 (+1 crashed), want 11", len(left))
	}
}
