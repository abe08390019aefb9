package apply

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/tcptune/tcptune/internal/safefile"
	"github.com/tcptune/tcptune/sysctl"
)

// summary is StateDir/tx/summary: what status shows of the history, so
// that status decodes one small file instead of every record. For status
// it is a cache: it carries the directory listing it was made from (each
// transaction's id and state as the names say), and status checks it
// against the listing. When they differ (a crash between a
// record and its summary, a power loss, a hand edit), only the records
// whose names changed since are decoded and the summary is patched with
// them (patchSummary); only a change that brings older records' keys
// back into effect (an applied transaction no longer applied without a
// rollback refreshing the summary) or a summary that cannot be read
// makes status decode the records. Apply, rollback and resolve rewrite it
// under the lock, without fsync.
//
// Apply does not read the directory when the summary is current
// (store.current): every change to the listing (a record, a mark, a
// prune) first marks the summary stale (staleSummary), and the summary is
// rewritten last, naming the boot it was written in and a nonce (also in
// its user.tcptune.summary attribute), with its mtime set to the
// directory's. So a summary of this boot, with its nonce and the
// directory's mtime, is the listing: a crash (the summary left stale), a
// power loss (another boot: what was not fsync'd may be lost), any other
// writer in tx/ (the directory's mtime moves: an older tcptune, a hand
// edit) or a summary another writer put there (no attribute) sends apply
// back to the listing.
//
// The file is lines of text, so that apply reads and rewrites it without
// a JSON decode (which would grow with what it holds):
//
//	tcptune status summary 4
//	B <boot id>                                the boot that wrote it
//	O <n>                                      unfinished transactions listed
//	N <nonce>                                  as in its user.tcptune.summary xattr
//	K <size> <mtime s> <ns> <where> <persist> <key>...   the baseline (baseFacts)
//	A <transaction> <key> <expected value>     a key in effect
//	C <CorruptRecord as JSON>                  a corrupt record
//	T <id> <TxSummary as JSON>                 a listed transaction
//	                                           (an empty line)
//	<id>.<state>                               the listing, oldest first
//
// Only status decodes the T lines it prints; apply parses only the newest
// statusHistory lines of the listing and the ones it prunes. Format 3 (no B
// and O lines) is still read, by status, and by apply only as the start of
// a listing it reads from the directory.
type summary struct {
	// boot is the boot id it was written in ("" in format 3).
	boot string
	// open is the number of unfinished transactions in Listing (-1:
	// not said, format 3).
	open int
	// base is the K line: the baseline's facts (baseFacts), unparsed; ""
	// when not known.
	base string
	// nonce is the N line: a random token writeSummary also puts in the
	// file's summaryXattr ("" when not said). A summary that another writer
	// created (a restored copy, an editor's save, a plain cp) lacks the
	// attribute, and that writer's create may have set the file's and tx/'s
	// mtimes alike: the mtime alone would call it current. A copy that keeps
	// attributes and times (cp -a of the state directory) stays current, as
	// it is the same state.
	nonce string
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
const summaryHead = "tcptune status summary 4"

// oldSummaryHead is the format before B and O lines: read, never current.
const oldSummaryHead = "tcptune status summary 3"

const summaryName = "summary"

// oldSummaryName is the JSON summary of earlier versions, swept by apply.
const oldSummaryName = "summary.json"

func (s store) summaryPath() string { return filepath.Join(s.txDir(), summaryName) }

func (sm *summary) encode() []byte {
	var b bytes.Buffer
	b.WriteString(summaryHead + "\n")
	b.WriteString("B " + sm.boot + "\n")
	b.WriteString("O " + strconv.Itoa(sm.open) + "\n")
	if sm.nonce != "" {
		b.WriteString("N " + sm.nonce + "\n")
	}
	if sm.base != "" {
		b.WriteString("K " + sm.base + "\n")
	}
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
	if !ok || (string(head) != summaryHead && string(head) != oldSummaryHead) {
		return nil
	}
	v4 := string(head) == summaryHead
	sm := &summary{open: -1, Applied: []KeyStatus{}, Corrupt: []CorruptRecord{}}
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
		case "B":
			if !v4 || !validBootID(string(body)) {
				return nil
			}
			sm.boot = string(body)
		case "O":
			n, err := strconv.Atoi(string(body))
			if !v4 || err != nil || n < 0 {
				return nil
			}
			sm.open = n
		case "N":
			if !v4 || len(body) == 0 || len(body) > 32 {
				return nil
			}
			sm.nonce = string(body)
		case "K":
			if !v4 {
				return nil
			}
			sm.base = string(body)
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
	if v4 && (sm.boot == "" || sm.open < 0) {
		return nil
	}
	sm.Listing = string(rest)
	return sm
}

// names is the listing as a summary records it.
func (l *listing) names() string {
	var b strings.Builder
	b.Grow(len(l.older) + len(l.entries)*32)
	b.WriteString(l.older)
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
	return &summary{Listing: l.names(), open: l.open(), Applied: []KeyStatus{}, Corrupt: []CorruptRecord{}}
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
	// prev's transactions are the listing before: kept unless pruned.
	kept := func(id string) bool { return !after.pruned[id] }
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
		if !seen[k.Key] && kept(k.Transaction) {
			seen[k.Key] = true
			sm.Applied = append(sm.Applied, k)
		}
	}
	for _, c := range prev.Corrupt {
		if kept(c.ID) {
			sm.Corrupt = append(sm.Corrupt, c)
		}
	}
	sm.sortApplied()
	return sm
}

// writeSummary replaces the summary: temp file, rename, no fsync (a lost
// or torn summary only costs a slower read: status and apply read the
// directory then), stamped with this boot, a nonce (in the file and in its
// summaryXattr) and, last, the directory's mtime (store.current).
func (s store) writeSummary(sm *summary) error {
	sm.boot = bootID()
	if sm.boot == "" {
		sm.boot = "-" // never current
	}
	sm.nonce = strconv.FormatUint(rand.Uint64(), 16)
	if err := replaceQuick(s.summaryPath(), sm.encode()); err != nil {
		return fmt.Errorf("write status summary: %w", err)
	}
	// Without the attribute (a file system without user xattrs, or until
	// it is set) the summary is not current: apply lists the directory.
	_ = unix.Lsetxattr(s.summaryPath(), summaryXattr, []byte(sm.nonce), 0)
	var dir unix.Stat_t
	if err := unix.Stat(s.txDir(), &dir); err != nil {
		return fmt.Errorf("write status summary: %w", err)
	}
	ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, dir.Mtim}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, s.summaryPath(), ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("write status summary: %w", err)
	}
	return nil
}

// staleSummary marks the summary stale before the listing changes (a
// record, a mark, a prune): its mtime set to the epoch, which no directory
// has, so apply does not take it as current, while status still patches
// it (a crash mid-apply costs status the records that changed, not all).
// One that cannot be marked stops the change: it might be taken as current.
func (s store) staleSummary() error {
	ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, {}}
	err := unix.UtimesNanoAt(unix.AT_FDCWD, s.summaryPath(), ts, unix.AT_SYMLINK_NOFOLLOW)
	if err == nil || err == unix.ENOENT {
		return nil
	}
	return fmt.Errorf("mark the status summary %s stale: %w", s.summaryPath(), err)
}

// current is the listing apply works from when the summary is current: the
// summary's, without reading the directory, its newest statusHistory lines
// parsed and the older ones kept as text. ok is false when the directory
// must be read (scan): no summary, another format, another boot (or none
// known), the directory changed after it (its mtime), an unfinished
// transaction listed, a line that does not parse.
func (s store) current() (l *listing, sm *summary, ok bool) {
	boot := bootID()
	if boot == "" {
		return nil, nil, false
	}
	b, err := safefile.ReadFile(s.summaryPath(), maxRecordSize, safefile.NoFollow)
	if err != nil {
		return nil, nil, false
	}
	var file, dir unix.Stat_t
	if unix.Lstat(s.summaryPath(), &file) != nil || unix.Stat(s.txDir(), &dir) != nil || file.Mtim != dir.Mtim || dir.Mtim == (unix.Timespec{}) {
		return nil, nil, false
	}
	if sm = parseSummary(b); sm == nil || sm.boot != boot || sm.open != 0 || sm.nonce == "" || xattr(s.summaryPath(), summaryXattr) != sm.nonce {
		return nil, nil, false
	}
	text := sm.Listing
	if text != "" && text[len(text)-1] != '\n' {
		return nil, nil, false
	}
	l = &listing{}
	// Cut before the newest statusHistory lines.
	cut := len(text)
	for n := 0; n < statusHistory && cut > 0; n++ {
		cut = strings.LastIndexByte(text[:cut-1], '\n') + 1
	}
	for rest := text[cut:]; rest != ""; {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		e := parseListingLine(line)
		if e == nil || (len(l.entries) > 0 && e.seq <= l.last().seq) {
			return nil, nil, false
		}
		l.entries = append(l.entries, e)
	}
	if l.open() != 0 {
		return nil, nil, false
	}
	l.older, l.olderN = text[:cut], strings.Count(text[:cut], "\n")
	return l, sm, true
}

// summaryXattr holds the summary's nonce (summary.nonce).
const summaryXattr = "user.tcptune.summary"

// xattr is path's extended attribute name (a symlink's own), "" when it
// has none or cannot be read.
func xattr(path, name string) string {
	var b [64]byte
	n, err := unix.Lgetxattr(path, name, b[:])
	if err != nil || n <= 0 || n > len(b) {
		return ""
	}
	return string(b[:n])
}

// bootIDPath is the kernel's id of this boot (tests point it elsewhere).
var bootIDPath = "/proc/sys/kernel/random/boot_id"

var bootCache struct {
	sync.Mutex
	path, id string
}

// bootID is this boot's id; "" when it cannot be read: then no summary is
// current.
func bootID() string {
	bootCache.Lock()
	defer bootCache.Unlock()
	if bootCache.path != bootIDPath {
		b, err := safefile.ReadFile(bootIDPath, 64, safefile.FollowLinks)
		id := strings.TrimSpace(string(b))
		if err != nil || id == "-" || !validBootID(id) {
			id = ""
		}
		bootCache.path, bootCache.id = bootIDPath, id
	}
	return bootCache.id
}

// validBootID: a uuid as the kernel prints it, or "-" (none known).
func validBootID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == '-') {
			return false
		}
	}
	return true
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

// baseline is what sm says of the baseline; nil when nothing.
func (sm *summary) baseline() *baseFacts {
	if sm.base == "" {
		return nil
	}
	return parseBaseFacts(sm.base)
}

// updateSummary writes the summary after an apply that recorded rec: from
// prev (the summary matching the listing before) when there was one, else
// by decoding, with base the baseline's facts (nil: unknown). Failures are
// ignored: the summary is only a cache.
func (s store) updateSummary(prev *summary, rec *Record, after *listing, base *baseFacts) {
	var sm *summary
	if prev != nil {
		sm = afterApply(prev, rec, after)
	} else {
		var err error
		if sm, err = s.buildSummary(after); err != nil {
			return
		}
	}
	if base != nil {
		sm.base = base.encode()
	}
	_ = s.writeSummary(sm)
}
