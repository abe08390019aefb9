package apply

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/tcptune/tcptune/internal/safefile"
	"github.com/tcptune/tcptune/sysctl"
)

// TxSummary is one transaction as status lists it.
type TxSummary struct {
	ID       string     `json:"id"`
	State    TxState    `json:"state"`
	Profiles []string   `json:"profiles"`
	Started  time.Time  `json:"started"`
	Finished *time.Time `json:"finished,omitempty"`
	PID      int        `json:"pid"`
	Keys     int        `json:"keys"`
	Error    string     `json:"error,omitempty"`
}

// KeyStatus compares one key's expected value with the live one.
type KeyStatus struct {
	Key sysctl.Key `json:"key"`
	// Expected is what the transaction (or persisted file) set.
	Expected sysctl.Value `json:"expected"`
	// Live is "" with LiveErr set when it could not be read.
	Live    sysctl.Value `json:"live"`
	LiveErr string       `json:"live_error,omitempty"`
	Drift   bool         `json:"drift"`
	// Transaction that set it (applied keys only).
	Transaction string `json:"transaction,omitempty"`
}

// PersistStatus is the owned file against live values.
type PersistStatus struct {
	File     string      `json:"file"`
	Exists   bool        `json:"exists"`
	Owned    bool        `json:"owned"` // written by tcptune
	Profiles []string    `json:"profiles"`
	Keys     []KeyStatus `json:"keys"`
}

// Status is what `tcptune status` reports.
type Status struct {
	// Transactions are the most recent, newest first.
	Transactions []TxSummary `json:"transactions"`
	// Applied are the keys of the transactions in effect, latest wins.
	Applied   []KeyStatus    `json:"applied"`
	Persisted *PersistStatus `json:"persisted"`
	// Crashed transactions must be rolled back or resolved before the next
	// apply.
	Crashed []TxSummary `json:"crashed"`
	// Corrupt records cannot be read or fail validation; nothing is ever
	// written from them. One that is not final also counts as crashed:
	// 'tcptune rollback --baseline' or 'rollback --resolve --to ID'.
	Corrupt []CorruptRecord `json:"corrupt"`
	// InProgress is an apply or rollback running right now (lock held).
	InProgress bool `json:"in_progress"`
	// Drift: an applied or persisted key differs from its live value.
	Drift bool `json:"drift"`
}

// statusHistory bounds the transactions listed.
const statusHistory = 10

// LoadStatus reads the state directory and the live values. It writes
// nothing and creates nothing.
func LoadStatus(opts Options) (*Status, error) {
	o := opts.withDefaults()
	st := store{dir: o.StateDir, decoded: map[string]loaded{}}
	s := &Status{Transactions: []TxSummary{}, Applied: []KeyStatus{}, Crashed: []TxSummary{}, Corrupt: []CorruptRecord{}}
	l, err := st.scan()
	if err != nil {
		return nil, err
	}
	s.InProgress, err = lockHeld(st)
	if err != nil {
		return nil, err
	}
	// The history and the keys in effect come from the summary apply
	// keeps; one made before a crash or a power loss is patched with the
	// records whose names changed since (loadSummary), so the older ones
	// are not decoded. Unfinished transactions are always decoded.
	sm, err := st.loadSummary(l)
	if err != nil {
		return nil, err
	}
	s.Corrupt = append(s.Corrupt, sm.Corrupt...)
	if err := st.history(s, sm, l, opts.History); err != nil {
		return nil, err
	}
	crashed, corrupt, err := st.crashed(l)
	if err != nil {
		return nil, err
	}
	for _, c := range corrupt {
		if !slices.ContainsFunc(s.Corrupt, func(x CorruptRecord) bool { return x.ID == c.ID }) {
			s.Corrupt = append(s.Corrupt, c)
		}
		s.Crashed = append(s.Crashed, TxSummary{ID: c.ID, State: c.State, Profiles: []string{}, Error: c.Error})
	}
	for _, r := range crashed {
		if (r.State == TxApplying && !s.InProgress) || r.State == TxRestoreFailed {
			s.Crashed = append(s.Crashed, summarize(r))
		}
	}
	expected := map[sysctl.Key]KeyStatus{}
	var order []sysctl.Key
	for _, k := range sm.Applied {
		expected[k.Key] = k
		order = append(order, k.Key)
	}
	sortKeys(order)
	for _, k := range order {
		ks := o.compare(expected[k])
		s.Drift = s.Drift || ks.Drift
		s.Applied = append(s.Applied, ks)
	}
	ps, err := o.persistStatus()
	if err != nil {
		return nil, err
	}
	s.Persisted = ps
	if ps != nil {
		for _, k := range ps.Keys {
			s.Drift = s.Drift || k.Drift
		}
	}
	return s, nil
}

// history lists the latest n transactions (0: statusHistory): those the
// summary holds, and beyond them the older ones decoded from their records,
// so the cost follows what is printed, not the history kept.
func (st store) history(s *Status, sm *summary, l *listing, n int) error {
	if n <= 0 {
		n = statusHistory
	}
	ts, err := sm.transactions(n)
	if err != nil { // a summary garbled in its transaction lines
		if sm, err = st.buildSummary(l); err != nil {
			return err
		}
		if ts, err = sm.transactions(n); err != nil {
			return err
		}
	}
	s.Transactions = append(s.Transactions, ts...)
	top := l.newest(n)
	if len(top) <= statusHistory {
		return nil
	}
	recs, corrupt, err := st.loadAll(top[statusHistory:])
	if err != nil {
		return err
	}
	for _, r := range recs {
		s.Transactions = append(s.Transactions, summarize(r))
	}
	for _, c := range corrupt {
		if !slices.ContainsFunc(s.Corrupt, func(x CorruptRecord) bool { return x.ID == c.ID }) {
			s.Corrupt = append(s.Corrupt, c)
		}
	}
	return nil
}

func (o Options) compare(ks KeyStatus) KeyStatus {
	live, err := o.IO.Read(ks.Key)
	if err != nil {
		ks.LiveErr, ks.Drift = err.Error(), true
		return ks
	}
	ks.Live, ks.Drift = live, live != ks.Expected
	return ks
}

func (o Options) persistStatus() (*PersistStatus, error) {
	path := o.PersistPath()
	ps := &PersistStatus{File: path, Profiles: []string{}, Keys: []KeyStatus{}}
	b, err := safefile.ReadFile(path, maxConfSize, safefile.FollowLinks)
	if errors.Is(err, fs.ErrNotExist) {
		return ps, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read persisted file: %w", err)
	}
	ps.Exists = true
	f, ok := parseOwned(path, b)
	if !ok {
		return ps, nil
	}
	ps.Owned, ps.Profiles = true, append(ps.Profiles, f.Profiles...)
	for _, e := range f.Entries {
		ps.Keys = append(ps.Keys, o.compare(KeyStatus{Key: e.Key, Expected: e.Target}))
	}
	return ps, nil
}

// lockHeld reports whether an apply or rollback holds the lock now. It
// never creates the state directory or the lock file.
func lockHeld(st store) (bool, error) {
	if _, err := os.Stat(st.lockPath()); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	lk, err := acquire(context.Background(), st, 0, true)
	if errors.Is(err, ErrLocked) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	lk.release()
	return false, nil
}

func sortKeys(ks []sysctl.Key) {
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && ks[j].Compare(ks[j-1]) < 0; j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
}
