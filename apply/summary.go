package apply

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sort"

	"github.com/tcptune/tcptune/internal/safefile"
	"github.com/tcptune/tcptune/sysctl"
)

// summary is StateDir/tx/summary.json: what status shows of the history,
// so that status decodes one small file instead of every record. It is a
// cache, never the truth: it carries the fingerprint of the directory
// listing it was made from, and a summary whose fingerprint does not match
// the listing (a crash between a record and its summary, a power loss, a
// hand edit) is ignored and status decodes the records. Apply, rollback
// and resolve rewrite it under the lock, without fsync.
type summary struct {
	FP uint64 `json:"fp"`
	// Transactions are the newest statusHistory, newest first.
	Transactions []TxSummary `json:"transactions"`
	// Applied: per key the expected value of the newest applied
	// transaction that set it.
	Applied []KeyStatus     `json:"applied"`
	Corrupt []CorruptRecord `json:"corrupt"`
}

const summaryName = "summary.json"

func (s store) summaryPath() string { return filepath.Join(s.txDir(), summaryName) }

// fingerprint hashes every transaction's id and state as the names say.
func (l *listing) fingerprint() uint64 {
	h := fnv.New64a()
	for _, e := range l.entries { // sorted by seq
		h.Write([]byte(e.id))
		h.Write([]byte{'.'})
		h.Write([]byte(e.state()))
		h.Write([]byte{'\n'})
	}
	return h.Sum64()
}

// readSummary returns the summary when it matches l, else nil.
func (s store) readSummary(l *listing) *summary {
	b, err := safefile.ReadFile(s.summaryPath(), maxRecordSize, safefile.NoFollow)
	if err != nil {
		return nil
	}
	var sm summary
	if json.Unmarshal(b, &sm) != nil || sm.FP != l.fingerprint() {
		return nil
	}
	return &sm
}

// buildSummary decodes the records status needs: the newest statusHistory
// and every applied one (for the keys in effect).
func (s store) buildSummary(l *listing) (*summary, error) {
	sm := &summary{FP: l.fingerprint(), Transactions: []TxSummary{}, Applied: []KeyStatus{}, Corrupt: []CorruptRecord{}}
	var want []*entry
	for i := len(l.entries) - 1; i >= 0; i-- {
		e := l.entries[i]
		if len(l.entries)-1-i < statusHistory || e.state() == TxApplied {
			want = append(want, e)
		}
	}
	recs, corrupt, err := s.loadAll(want) // newest first
	if err != nil {
		return nil, err
	}
	sm.Corrupt = append(sm.Corrupt, corrupt...)
	seen := map[sysctl.Key]bool{}
	for _, r := range recs {
		if len(sm.Transactions) < statusHistory {
			sm.Transactions = append(sm.Transactions, summarize(r))
		}
		if r.State == TxApplied {
			sm.addApplied(r, seen)
		}
	}
	sm.sortApplied()
	return sm, nil
}

func summarize(r *Record) TxSummary {
	return TxSummary{ID: r.ID, State: r.State, Profiles: r.Profiles, Started: r.Started, Finished: r.Finished, PID: r.PID, Keys: len(r.Originals), Error: r.Error}
}

// addApplied adds r's keys not yet seen (callers go newest first).
func (sm *summary) addApplied(r *Record, seen map[sysctl.Key]bool) {
	for _, og := range r.Originals {
		if !seen[og.Key] {
			seen[og.Key] = true
			sm.Applied = append(sm.Applied, KeyStatus{Key: og.Key, Expected: og.Target, Transaction: r.ID})
		}
	}
}

func (sm *summary) sortApplied() {
	sort.Slice(sm.Applied, func(i, j int) bool { return sm.Applied[i].Key.Compare(sm.Applied[j].Key) < 0 })
}

// afterApply is the summary once rec was applied (or failed) and pruning ran: prev
// (matching the listing before) plus rec, minus what was pruned. It costs
// the same with 50 records as with one.
func afterApply(prev *summary, rec *Record, after *listing) *summary {
	sm := &summary{FP: after.fingerprint(), Transactions: []TxSummary{summarize(rec)}, Applied: []KeyStatus{}, Corrupt: []CorruptRecord{}}
	kept := make(map[string]bool, len(after.entries))
	for _, e := range after.entries {
		kept[e.id] = true
	}
	for _, t := range prev.Transactions {
		if len(sm.Transactions) < statusHistory && kept[t.ID] {
			sm.Transactions = append(sm.Transactions, t)
		}
	}
	seen := map[sysctl.Key]bool{}
	if rec.State == TxApplied {
		sm.addApplied(rec, seen)
	}
	for _, k := range prev.Applied {
		if !seen[k.Key] && kept[k.Transaction] {
			seen[k.Key] = true
			sm.Applied = append(sm.Applied, k)
		}
	}
	for _, c := range prev.Corrupt {
		if kept[c.ID] {
			sm.Corrupt = append(sm.Corrupt, c)
		}
	}
	sm.sortApplied()
	return sm
}

// writeSummary replaces the summary: temp file, rename, no fsync (a lost
// or torn summary only costs status a slower read).
func (s store) writeSummary(sm *summary) error {
	b, err := json.Marshal(sm)
	if err != nil {
		return err
	}
	tmp := filepath.Join(s.txDir(), "."+summaryName+".tmp")
	if err := writeQuick(tmp, b); err != nil {
		return fmt.Errorf("write status summary: %w", err)
	}
	if err := os.Rename(tmp, s.summaryPath()); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write status summary: %w", err)
	}
	return nil
}

// refreshSummary rebuilds the summary after a rollback or resolve (rare;
// it decodes the applied records once so that status does not have to).
func (s store) refreshSummary() error {
	l, err := s.scan()
	if err != nil {
		return err
	}
	sm, err := s.buildSummary(l)
	if err != nil {
		return err
	}
	return s.writeSummary(sm)
}

// updateSummary writes the summary after an apply that recorded rec: from
// prev (the summary matching the listing before) when there was one, else
// by decoding. Failures are ignored: the summary is only a cache.
func (s store) updateSummary(prev *summary, rec *Record, after *listing) {
	var sm *summary
	if prev != nil {
		sm = afterApply(prev, rec, after)
	} else {
		var err error
		if sm, err = s.buildSummary(after); err != nil {
			return
		}
	}
	_ = s.writeSummary(sm)
}
