package apply

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tcptune/tcptune/internal/safefile"
	"github.com/tcptune/tcptune/sysctl"
)

// summary is StateDir/tx/summary.json (a JSON line, then the listing it
// was made from as plain text): what status shows of the history,
// so that status decodes one small file instead of every record. It is a
// cache, never the truth: it carries the directory listing it was made
// from (each transaction's id and state as the names say), and status
// checks it against the listing. When they differ (a crash between a
// record and its summary, a power loss, a hand edit), only the records
// whose names changed since are decoded and the summary is patched with
// them (patchSummary); only a change that brings older records' keys
// back into effect (an applied transaction no longer applied without a
// rollback refreshing the summary) or a summary that cannot be read
// makes status decode the records. Apply, rollback and resolve rewrite it
// under the lock, without fsync.
type summary struct {
	Format int `json:"format"`
	// Listing: one "<id>.<state>\n" per transaction, oldest first. It
	// follows the JSON line in the file as plain text, so that the check
	// costs a comparison of bytes, not a JSON decode that grows with the
	// history.
	Listing string `json:"-"`
	// Transactions are the readable ones of the newest statusHistory,
	// newest first.
	Transactions []TxSummary `json:"transactions"`
	// Applied: per key the expected value of the newest applied
	// transaction that set it.
	Applied []KeyStatus     `json:"applied"`
	Corrupt []CorruptRecord `json:"corrupt"`
}

// summaryFormat is bumped on an incompatible change; a summary of
// another format is not used (status decodes the records once, the next
// apply writes a new one).
const summaryFormat = 2

const summaryName = "summary.json"

func (s store) summaryPath() string { return filepath.Join(s.txDir(), summaryName) }

// names is the listing as a summary records it.
func (l *listing) names() string {
	var b strings.Builder
	for _, e := range l.entries { // sorted by seq
		b.WriteString(e.id)
		b.WriteByte('.')
		b.WriteString(string(e.state()))
		b.WriteByte('\n')
	}
	return b.String()
}

// newest is the newest n entries of l, newest first.
func (l *listing) newest(n int) []*entry {
	var out []*entry
	for i := len(l.entries) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, l.entries[i])
	}
	return out
}

func topIDs(es []*entry) map[string]bool {
	m := make(map[string]bool, len(es))
	for _, e := range es {
		m[e.id] = true
	}
	return m
}

func newSummary(l *listing) *summary {
	return &summary{Format: summaryFormat, Listing: l.names(), Transactions: []TxSummary{}, Applied: []KeyStatus{}, Corrupt: []CorruptRecord{}}
}

// readSummary decodes the stored summary, whatever listing it was made
// from; nil when there is none or it cannot be read.
func (s store) readSummary() *summary {
	b, err := safefile.ReadFile(s.summaryPath(), maxRecordSize, safefile.NoFollow)
	if err != nil {
		return nil
	}
	head, listing, ok := bytes.Cut(b, []byte{'\n'})
	var sm summary
	if !ok || json.Unmarshal(head, &sm) != nil || sm.Format != summaryFormat {
		return nil
	}
	sm.Listing = string(listing)
	return &sm
}

// loadSummary is the summary of l: the stored one when it matches, else
// the stored one patched with the records whose names changed, else one
// decoded from the records.
func (s store) loadSummary(l *listing) (*summary, error) {
	sm := s.readSummary()
	if sm == nil {
		return s.buildSummary(l)
	}
	if sm.Listing == l.names() {
		return sm, nil
	}
	p, ok, err := s.patchSummary(sm, l)
	if err != nil || ok {
		return p, err
	}
	return s.buildSummary(l)
}

// buildSummary decodes the records status needs: the newest statusHistory
// and every applied one (for the keys in effect).
func (s store) buildSummary(l *listing) (*summary, error) {
	sm := newSummary(l)
	top := l.newest(statusHistory)
	want := append([]*entry(nil), top...)
	for i := len(l.entries) - 1 - len(top); i >= 0; i-- {
		if e := l.entries[i]; e.state() == TxApplied {
			want = append(want, e)
		}
	}
	recs, corrupt, err := s.loadAll(want) // newest first
	if err != nil {
		return nil, err
	}
	sm.Corrupt = append(sm.Corrupt, corrupt...)
	inTop := topIDs(top)
	seen := map[sysctl.Key]bool{}
	for _, r := range recs {
		if inTop[r.ID] {
			sm.Transactions = append(sm.Transactions, summarize(r))
		}
		if r.State == TxApplied {
			sm.addApplied(r, seen)
		}
	}
	sm.sortApplied()
	return sm, nil
}

// patchSummary brings old, made from an earlier listing, up to l by
// decoding only the transactions that are new or changed state since, and
// those that moved into the newest statusHistory: status after a crash
// costs the same with 50 records as with one. ok is false when it cannot:
// a transaction that was applied is no longer, or is gone while older
// applied ones remain (its keys fall back to older records, which only
// decoding them tells).
func (s store) patchSummary(old *summary, l *listing) (sm *summary, ok bool, err error) {
	was := map[string]TxState{}
	for _, line := range strings.Split(old.Listing, "\n") {
		if id, st, found := strings.Cut(line, "."); found {
			was[id] = TxState(st)
		}
	}
	now := make(map[string]bool, len(l.entries))
	drop := map[string]bool{} // ids whose facts in old no longer hold
	var fresh []*entry
	for _, e := range l.entries {
		now[e.id] = true
		st, seen := was[e.id]
		if seen && st == e.state() {
			continue
		}
		if st == TxApplied {
			return nil, false, nil
		}
		fresh = append(fresh, e)
		drop[e.id] = true
	}
	oldestApplied := -1 // seq of the oldest applied transaction still there
	for _, e := range l.entries {
		if e.state() == TxApplied {
			oldestApplied = e.seq
			break
		}
	}
	for id, st := range was {
		if now[id] {
			continue
		}
		// Pruning deletes the oldest first: an applied transaction gone
		// from before every applied one left held no key another still
		// sets. One deleted from among them did (a hand edit): decode.
		if st == TxApplied && oldestApplied >= 0 && seqOf(id) > oldestApplied {
			return nil, false, nil
		}
		drop[id] = true
	}
	recs, corrupt, err := s.loadAll(fresh)
	if err != nil {
		return nil, false, err
	}
	sm = newSummary(l)
	bad := map[string]bool{}
	for _, c := range old.Corrupt {
		if !drop[c.ID] {
			bad[c.ID] = true
			sm.Corrupt = append(sm.Corrupt, c)
		}
	}
	for _, c := range corrupt {
		bad[c.ID] = true
		sm.Corrupt = append(sm.Corrupt, c)
	}
	// The keys in effect: those still held, then each new applied
	// transaction's where it is newer than the holder.
	applied := map[sysctl.Key]KeyStatus{}
	for _, k := range old.Applied {
		if !drop[k.Transaction] {
			applied[k.Key] = k
		}
	}
	known := map[string]TxSummary{}
	for _, t := range old.Transactions {
		if !drop[t.ID] {
			known[t.ID] = t
		}
	}
	for _, r := range recs {
		known[r.ID] = summarize(r)
		if r.State != TxApplied {
			continue
		}
		for _, og := range r.Originals {
			if cur, held := applied[og.Key]; !held || seqOf(cur.Transaction) < r.Seq {
				applied[og.Key] = KeyStatus{Key: og.Key, Expected: og.Target, Transaction: r.ID}
			}
		}
	}
	top := l.newest(statusHistory)
	var missing []*entry
	for _, e := range top {
		if _, have := known[e.id]; !have && !bad[e.id] {
			missing = append(missing, e)
		}
	}
	more, morebad, err := s.loadAll(missing)
	if err != nil {
		return nil, false, err
	}
	for _, r := range more {
		known[r.ID] = summarize(r)
	}
	sm.Corrupt = append(sm.Corrupt, morebad...)
	for _, e := range top {
		if t, have := known[e.id]; have {
			sm.Transactions = append(sm.Transactions, t)
		}
	}
	for _, k := range applied {
		sm.Applied = append(sm.Applied, k)
	}
	sm.sortApplied()
	sort.Slice(sm.Corrupt, func(i, j int) bool { return seqOf(sm.Corrupt[i].ID) > seqOf(sm.Corrupt[j].ID) })
	return sm, true, nil
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
	sm := newSummary(after)
	sm.Transactions = append(sm.Transactions, summarize(rec))
	kept := make(map[string]bool, len(after.entries))
	for _, e := range after.entries {
		kept[e.id] = true
	}
	inTop := topIDs(after.newest(statusHistory))
	for _, t := range prev.Transactions {
		if inTop[t.ID] && t.ID != rec.ID {
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
	b, err := json.Marshal(sm) // one line: no raw newline in JSON
	if err != nil {
		return err
	}
	b = append(append(b, '\n'), sm.Listing...)
	if err := replaceQuick(s.summaryPath(), b); err != nil {
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
