package apply

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/tcptune/tcptune/sysctl"
)

// Writers coordinate through StateDir/writers.json: for every key tcptune
// wrote, the last writer (an apply, a reconcile correction or a rollback),
// its transaction and the value it left. Apply and Rollback update it under
// the lock after they succeed; reconcile reads it at each check and stops
// enforcing a key whose last writer was a rollback, or an apply whose value
// its profile disagrees with (package reconcile). The file is small (one
// entry per key ever written) and survives the pruning of old transaction
// records, so a rollback keeps its word after 50 more transactions and
// after a restart of reconcile.

// WritersFileName is the last-writer table's name in the state directory.
const WritersFileName = "writers.json"

// WriterKind says who wrote a key.
type WriterKind string

const (
	WriterApply     WriterKind = "apply"
	WriterReconcile WriterKind = "reconcile" // Options.Origin "reconcile"
	WriterRollback  WriterKind = "rollback"
)

// LastWrite is the last tcptune write of one key.
type LastWrite struct {
	Key  sysctl.Key `json:"key"`
	Kind WriterKind `json:"kind"`
	// Transaction is the transaction applied, or the one rolled back.
	Transaction string       `json:"transaction"`
	Profiles    []string     `json:"profiles,omitempty"`
	Value       sysctl.Value `json:"value"`
	Time        time.Time    `json:"time"`
}

// Writers is the last-writer table. Generation grows with every update, so
// a reader can tell (under the lock) whether anyone wrote since it looked.
type Writers struct {
	Generation uint64      `json:"generation"`
	Keys       []LastWrite `json:"keys"` // sorted by key path
}

// Last returns the last write of k.
func (w *Writers) Last(k sysctl.Key) (LastWrite, bool) {
	if w == nil {
		return LastWrite{}, false
	}
	for _, lw := range w.Keys {
		if lw.Key == k {
			return lw, true
		}
	}
	return LastWrite{}, false
}

// LoadWriters reads the table of stateDir; an empty table when no tcptune
// wrote there yet. It takes no lock and creates nothing.
func LoadWriters(stateDir string) (*Writers, error) {
	return store{dir: stateDir}.writers()
}

func (s store) writersPath() string { return filepath.Join(s.dir, WritersFileName) }

func (s store) writers() (*Writers, error) {
	b, err := os.ReadFile(s.writersPath())
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(b) == 0) {
		// Empty: what a power loss can leave of a table written without
		// fsync (note); no write is known, as before the first.
		return &Writers{Keys: []LastWrite{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read last writers: %w", err)
	}
	var w Writers
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("%s is corrupt: %w", s.writersPath(), err)
	}
	for _, lw := range w.Keys {
		if _, err := sysctl.ParseValue(string(lw.Value)); err != nil || lw.Key.IsZero() {
			return nil, fmt.Errorf("%s: bad entry %q", s.writersPath(), lw.Key)
		}
	}
	return &w, nil
}

// note records writes (called with the lock held) and bumps the generation.
func (s store) note(writes []LastWrite) error {
	if len(writes) == 0 {
		return nil
	}
	w, err := s.writers()
	if err != nil {
		return err
	}
	idx := map[sysctl.Key]int{}
	for i, lw := range w.Keys {
		idx[lw.Key] = i
	}
	for _, lw := range writes {
		if i, ok := idx[lw.Key]; ok {
			w.Keys[i] = lw
		} else {
			idx[lw.Key] = len(w.Keys)
			w.Keys = append(w.Keys, lw)
		}
	}
	sort.Slice(w.Keys, func(i, j int) bool { return w.Keys[i].Key.Compare(w.Keys[j].Key) < 0 })
	w.Generation++
	b, err := json.MarshalIndent(w, "", "  ")
	if err != nil {
		return err
	}
	// Not synchronous: the table is about live values, which a power loss
	// resets too; the records and their marks are the durable truth.
	if err := replaceQuick(s.writersPath(), append(b, '\n')); err != nil {
		return fmt.Errorf("record last writers: %w", err)
	}
	return nil
}

// checkCurrent fails with ErrStalePlan when the table changed since w was
// read: another apply or a rollback wrote in between.
func (w *Writers) checkCurrent(s store) error {
	now, err := s.writers()
	if err != nil {
		return err
	}
	if now.Generation != w.Generation {
		return &StaleError{Reason: "another tcptune apply or rollback wrote since the plan was made"}
	}
	return nil
}

// noteWrites records a committed transaction's keys.
func (o Options) noteWrites(s store, rec *Record, toSet []Change) error {
	kind := WriterApply
	if o.Origin == string(WriterReconcile) {
		kind = WriterReconcile
	}
	t := o.Now()
	writes := make([]LastWrite, 0, len(toSet))
	for _, c := range toSet {
		writes = append(writes, LastWrite{Key: c.Key, Kind: kind, Transaction: rec.ID, Profiles: rec.Profiles, Value: c.After, Time: t})
	}
	return s.note(writes)
}
