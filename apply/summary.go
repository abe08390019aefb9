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

// summary is StateDir/tx/summary: what status shows of the history, so
// that status decodes one small file instead of every record. It is a
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
//
// The file is lines of text, so that apply reads and rewrites it without
// a JSON decode (which would grow with what it holds):
//
//	tcptune status summary 3
//	A <transaction> <key> <expected value>     a key in effect
//	C <CorruptRecord as JSON>                  a corrupt record
//	T <id> <TxSummary as JSON>                 a listed transaction
//	                                           (an empty line)
//	<id>.<state>                               the listing, oldest first
//
// Only status decodes the T lines it prints.
type summary struct {
	// Listing: one "<id>.<state>\n" per transaction, oldest first.
	Listing string
	// txs are the readable ones of the newest statusHistory, newest first.
	txs []txLine
	// Applied: per key the expected value of the newest applied
	// transaction that set it.
	Applied []KeyStatus
	Corrupt []CorruptRecord
}

// txLine is one listed transaction as the summary file holds it: its id
// and its TxSummary as JSON, decoded only by status.
type txLine struct {
	id  string
	raw []byte
}

func txLineOf(t TxSummary) txLine {
	b, _ := json.Marshal(t) // a TxSummary always encodes, on one line
	return txLine{id: t.ID, raw: b}
}

func (sm *summary) addTx(r *Record) { sm.txs = append(sm.txs, txLineOf(summarize(r))) }

// transactions decodes the first n listed transactions.
func (sm *summary) transactions(n int) ([]TxSummary, error) {
	out := make([]TxSummary, 0, min(n, len(sm.txs)))
	for _, t := range sm.txs[:min(n, len(sm.txs))] {
		var ts TxSummary
		if err := json.Unmarshal(t.raw, &ts); err != nil || ts.ID != t.id {
			return nil, fmt.Errorf("%w: status summary: transaction %s", errCorrupt, t.id)
		}
		out = append(out, ts)
	}
	return out, nil
}

// summaryHead is the first line; its number is bumped on an incompatible
// change, and a summary with another first line is not used (status
// decodes the records until the next apply writes a new one).
const summaryHead = "tcptune status summary 3"

const summaryName = "summary"

// oldSummaryName is the JSON summary of earlier versions, swept by apply.
const oldSummaryName = "summary.json"

func (s store) summaryPath() string { return filepath.Join(s.txDir(), summaryName) }

func (sm *summary) encode() []byte {
	var b bytes.Buffer
	b.WriteString(summaryHead + "\n")
	for _, k := range sm.Applied {
		b.WriteString("A " + k.Transaction + " " + k.Key.String() + " " + string(k.Expected) + "\n")
	}
	for _, c := range sm.Corrupt {
		j, _ := json.Marshal(c)
		b.WriteString("C ")
		b.Write(j)
		b.WriteByte('\n')
	}
	for _, t := range sm.txs {
		b.WriteString("T " + t.id + " ")
		b.Write(t.raw)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(sm.Listing)
	return b.Bytes()
}

// parseSummary reads a summary file; nil when it is not one.
func parseSummary(b []byte) *summary {
	head, rest, ok := bytes.Cut(b, []byte{'\n'})
	if !ok || string(head) != summaryHead {
		return nil
	}
	sm := &summary{Applied: []KeyStatus{}, Corrupt: []CorruptRecord{}}
	for {
		var line []byte
		if line, rest, ok = bytes.Cut(rest, []byte{'\n'}); !ok {
			return nil
		}
		if len(line) == 0 {
			break
		}
		kind, body, _ := bytes.Cut(line, []byte{' '})
		switch string(kind) {
		case "A":
			id, kv, ok1 := bytes.Cut(body, []byte{' '})
			key, val, ok2 := bytes.Cut(kv, []byte{' '})
			k, kerr := sysctl.ParseKey(string(key))
			v, verr := sysctl.ParseValue(string(val))
			if !ok1 || !ok2 || kerr != nil || verr != nil || !validTxID(string(id)) {
				return nil
			}
			sm.Applied = append(sm.Applied, KeyStatus{Key: k, Expected: v, Transaction: string(id)})
		case "C":
			var c CorruptRecord
			if json.Unmarshal(body, &c) != nil {
				return nil
			}
			sm.Corrupt = append(sm.Corrupt, c)
		case "T":
			id, raw, ok := bytes.Cut(body, []byte{' '})
			if !ok || !validTxID(string(id)) {
				return nil
			}
			sm.txs = append(sm.txs, txLine{id: string(id), raw: raw})
		default:
			return nil
		}
	}
	sm.Listing = string(rest)
	return sm
}

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
	return &summary{Listing: l.names(), Applied: []KeyStatus{}, Corrupt: []CorruptRecord{}}
}

// readSummary reads the stored summary, whatever listing it was made
// from; nil when there is none or it cannot be read.
func (s store) readSummary() *summary {
	b, err := safefile.ReadFile(s.summaryPath(), maxRecordSize, safefile.NoFollow)
	if err != nil {
		return nil
	}
	return parseSummary(b)
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
			sm.addTx(r)
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
	known := map[string]txLine{}
	for _, t := range old.txs {
		if !drop[t.id] {
			known[t.id] = t
		}
	}
	for _, r := range recs {
		known[r.ID] = txLineOf(summarize(r))
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
		known[r.ID] = txLineOf(summarize(r))
	}
	sm.Corrupt = append(sm.Corrupt, morebad...)
	for _, e := range top {
		if t, have := known[e.id]; have {
			sm.txs = append(sm.txs, t)
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
	sm.addTx(rec)
	kept := make(map[string]bool, len(after.entries))
	for _, e := range after.entries {
		kept[e.id] = true
	}
	inTop := topIDs(after.newest(statusHistory))
	for _, t := range prev.txs { // carried over undecoded
		if inTop[t.id] && t.id != rec.ID {
			sm.txs = append(sm.txs, t)
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
	if err := replaceQuick(s.summaryPath(), sm.encode()); err != nil {
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
