package apply

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/tcptune/tcptune/sysctl"
)

// TestKeyChanges: applies and rollbacks at or after since are changes (a
// rollback back to the original, at its own time); a failed transaction,
// one before since, and a missing state directory are none.
func TestKeyChanges(t *testing.T) {
	st := store{dir: t.TempDir()}
	since := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	og := []Original{{Key: sysctl.MustKey("net.core.somaxconn"), Value: "4096", Target: "65535"}}
	mk := func(seq int, started time.Time, state TxState, finished time.Time) {
		t.Helper()
		r := &Record{Format: recordFormat, ID: txIDFor(seq, started), Seq: seq, State: TxApplying, Profiles: []string{"p"}, Started: started, Originals: og}
		if err := st.create(r); err != nil {
			t.Fatal(err)
		}
		if state != TxApplying {
			r.Finished = &finished
			if err := st.setState(r, state, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	mk(1, since.Add(-3*time.Hour), TxRolledBack, since.Add(time.Hour)) // applied before, rolled back after
	mk(2, since.Add(-2*time.Hour), TxApplied, since.Add(-2*time.Hour)) // before since: not a change inside
	mk(3, since.Add(2*time.Hour), TxFailed, since.Add(2*time.Hour))    // restored in the same run
	mk(4, since.Add(3*time.Hour), TxApplied, since.Add(3*time.Hour+time.Second))
	h, err := KeyChanges(st.dir, since)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Changes) != 2 {
		t.Fatalf("changes %+v, want the rollback of 1 and the apply of 4", h.Changes)
	}
	if c := h.Changes[0]; c.Action != "rollback" || c.From != "65535" || c.To != "4096" || !c.Time.Equal(since.Add(time.Hour)) {
		t.Errorf("first change %+v", c)
	}
	if c := h.Changes[1]; c.Action != "apply" || c.From != "4096" || c.To != "65535" || !c.Time.Equal(since.Add(3*time.Hour+time.Second)) {
		t.Errorf("second change %+v", c)
	}
	h, err = KeyChanges(filepath.Join(t.TempDir(), "absent"), since)
	if err != nil || len(h.Changes) != 0 {
		t.Errorf("absent state directory: %+v, %v; want no history", h, err)
	}
}
