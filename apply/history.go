package apply

import (
	"fmt"
	"strings"
	"time"

	"github.com/tcptune/tcptune/sysctl"
)

// KeyChange is one change tcptune made to a key's live value: an apply
// (From is the original) or a rollback (the original put back).
type KeyChange struct {
	Key  sysctl.Key   `json:"key"`
	From sysctl.Value `json:"from"`
	To   sysctl.Value `json:"to"`
	// Time is when the new value took effect: the apply's finish (its start
	// for an unfinished one), the rollback's finish.
	Time        time.Time `json:"time"`
	Transaction string    `json:"transaction"`
	// Action is "apply", "apply (unfinished)", "rollback" or
	// "rollback (incomplete)".
	Action string `json:"action"`
}

// History is what tcptune's own records say it changed.
type History struct {
	// Changes are oldest first.
	Changes []KeyChange
	// Corrupt records could not be read: what they changed is not known.
	Corrupt []CorruptRecord
}

// historySlack: a record named (started) this long before since is still
// decoded, as its writes may have landed after since.
const historySlack = 10 * time.Minute

// KeyChanges returns the changes tcptune made to live values at or after
// since, from the records in stateDir. It reads only and creates nothing: a
// state directory that does not exist is no history (an empty History, nil
// error); one that cannot be read is an error. Only the records kept
// (MaxRecords) are known; records named well before since are not decoded
// unless a rollback (which may come any time later) marks them, so the
// cost is bounded by the records kept, not by the machine.
func KeyChanges(stateDir string, since time.Time) (*History, error) {
	st := store{dir: stateDir}
	l, err := st.scan()
	if err != nil {
		return nil, err
	}
	var want []*entry
	for _, e := range l.entries {
		s := e.state()
		if s == TxFailed { // every written key was restored in the same run
			continue
		}
		if t, ok := idTime(e.id); ok && t.Before(since.Add(-historySlack)) && s != TxRolledBack && s != TxRestoreFailed {
			continue
		}
		want = append(want, e)
	}
	recs, corrupt, err := st.loadAll(want)
	if err != nil {
		return nil, err
	}
	h := &History{Corrupt: corrupt}
	add := func(og Original, from, to sysctl.Value, t time.Time, id, action string) {
		if from != to && !t.Before(since) {
			h.Changes = append(h.Changes, KeyChange{Key: og.Key, From: from, To: to, Time: t, Transaction: id, Action: action})
		}
	}
	for _, r := range recs {
		applied := r.Started
		action := "apply"
		switch r.State {
		case TxApplied, TxResolved:
			if r.Finished != nil && r.State == TxApplied {
				applied = *r.Finished
			}
		case TxApplying:
			action = "apply (unfinished)"
		case TxRolledBack, TxRestoreFailed:
		default:
			continue
		}
		for _, og := range r.Originals {
			add(og, og.Value, og.Target, applied, r.ID, action)
		}
		if (r.State == TxRolledBack || r.State == TxRestoreFailed) && r.Finished != nil {
			back := "rollback"
			if r.State == TxRestoreFailed {
				back = "rollback (incomplete)"
			}
			for _, og := range r.Originals {
				add(og, og.Target, og.Value, *r.Finished, r.ID, back)
			}
		}
	}
	sortChanges(h.Changes)
	return h, nil
}

// idTime is the start time a transaction id carries.
func idTime(id string) (time.Time, bool) {
	_, ts, ok := strings.Cut(id, "-")
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse("20060102T150405Z", ts)
	return t, err == nil
}

func sortChanges(cs []KeyChange) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].Time.Before(cs[j-1].Time); j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// String is the change in one phrase, for messages.
func (c KeyChange) String() string {
	return fmt.Sprintf("%s %s -> %s at %s (%s %s)", c.Key, c.From, c.To, c.Time.UTC().Format(time.RFC3339), c.Action, c.Transaction)
}
