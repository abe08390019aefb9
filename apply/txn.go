package apply

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/renameio/v2"
	"golang.org/x/sys/unix"

	"github.com/tcptune/tcptune/internal/safefile"
	"github.com/tcptune/tcptune/sysctl"
	"github.com/tcptune/tcptune/validate"
)

// TxState is where a transaction stands.
type TxState string

const (
	// TxApplying: recorded, writes may have started. Found without a live
	// lock holder, it means the process died mid-apply: a crashed
	// transaction.
	TxApplying TxState = "applying"
	// TxApplied: every write verified (and the file persisted).
	TxApplied TxState = "applied"
	// TxFailed: the apply failed and every written key was restored.
	TxFailed TxState = "failed"
	// TxRolledBack: a later `tcptune rollback` restored the originals.
	TxRolledBack TxState = "rolled-back"
	// TxRestoreFailed: a restore could not be verified; still open.
	TxRestoreFailed TxState = "restore-failed"
	// TxResolved: an admin declared a crashed transaction settled without
	// restoring (`tcptune rollback --resolve`).
	TxResolved TxState = "resolved"
)

// Open reports whether the transaction's originals may still need
// restoring: it is in effect (applied) or unfinished.
func (s TxState) Open() bool { return s == TxApplying || s == TxApplied || s == TxRestoreFailed }

// rank orders the states a transaction passes through: applying, applied,
// restore-failed, then one of the final states. A transaction only ever
// moves up, so of two marks left by a crash between writing the new one
// and removing the old one, the higher wins. 0: not a state.
func (s TxState) rank() int {
	switch s {
	case TxApplying:
		return 1
	case TxApplied:
		return 2
	case TxRestoreFailed:
		return 3
	case TxFailed, TxRolledBack, TxResolved:
		return 4
	}
	return 0
}

// recordFormat is bumped on an incompatible change of Record. Format 1
// records kept their state inside and were rewritten on every change; they
// are still read.
const (
	recordFormat    = 2
	oldRecordFormat = 1
)

// maxRecordSize bounds what is read of a record, a mark or the baseline:
// a record holds the plan and the persisted file's previous content, far
// below this; a link to /dev/zero is refused long before.
const maxRecordSize = 8 << 20

// maxSeq is the largest sequence number a transaction id can carry (12
// digits); the next apply refuses rather than wrap around.
const maxSeq = 999_999_999_999

// Original is one key's value before the transaction, in write order.
type Original struct {
	Key   sysctl.Key   `json:"key"`
	Value sysctl.Value `json:"value"`
	// Target is what the transaction writes.
	Target sysctl.Value `json:"target"`
}

// FileSnapshot is the persisted file as it was before the transaction.
type FileSnapshot struct {
	Path   string `json:"path"`
	Exists bool   `json:"exists"`
	// Symlink is the link target when the path was a symlink (tcptune
	// replaces the link, never writes through it, and rollback puts it back).
	Symlink string      `json:"symlink,omitempty"`
	Content []byte      `json:"content,omitempty"` // base64 in JSON
	Mode    fs.FileMode `json:"mode,omitempty"`
	// Changed is true when the transaction (re)wrote the file.
	Changed bool `json:"changed"`
}

// Record is one transaction. Its body is StateDir/tx/<id>.json, written
// durably before the first write and never rewritten; every later state is
// a mark file next to it (see store). Fields may be added freely: unknown
// fields of a newer tcptune are ignored on read.
type Record struct {
	Format     int        `json:"format"`
	ID         string     `json:"id"`
	Seq        int        `json:"seq"`
	State      TxState    `json:"state"`
	Profiles   []string   `json:"profiles"`
	Version    string     `json:"version,omitempty"`
	PID        int        `json:"pid"`
	SysctlRoot string     `json:"sysctl_root"`
	Netns      string     `json:"netns"`
	Started    time.Time  `json:"started"`
	Finished   *time.Time `json:"finished,omitempty"`
	// Origin is who started the transaction: "" for apply, "reconcile" for
	// a correction, which a restarted reconcile may roll back on its own.
	Origin string `json:"origin,omitempty"`
	Plan   *Plan  `json:"plan"`
	// Originals are the keys the transaction writes, in write order.
	Originals []Original    `json:"originals"`
	Persist   *FileSnapshot `json:"persist,omitempty"`
	Error     string        `json:"error,omitempty"`
	// History lists state changes after the first, for status.
	History []string `json:"history,omitempty"`
	// Where identifies the namespace and sysctl root the transaction was
	// applied to; rollback refuses another target (target.go).
	Where *Where `json:"where,omitempty"`
	// Granted lists the keys outside the default write policy that the
	// transaction wrote under a trusted profile's allow: grant. On read they
	// are honoured only in a record file that passes the same ownership
	// check as the profile that granted them (grant.go).
	Granted []string `json:"granted,omitempty"`
}

// mark is the content of a state mark: details only. The mark's name is
// the fact; a power loss may leave its content empty, never its meaning.
type mark struct {
	State    TxState    `json:"state"`
	Finished *time.Time `json:"finished,omitempty"`
	Error    string     `json:"error,omitempty"`
	History  []string   `json:"history,omitempty"`
}

// store is the state directory. In StateDir/tx:
//
//	<id>.json        the record, durable (fsync file and directory) before
//	                 the first write; never rewritten
//	<id>.<state>     a mark: the transaction reached <state> (applied,
//	                 failed, rolled-back, restore-failed, resolved)
//	baseline.json    the original of every key tcptune ever changed
//	summary          what status shows and the listing it was made from;
//	                 apply's listing when current (summary.go)
//	.*               temp files, removed under the lock
//
// So the directory listing alone answers "is there a crashed transaction"
// (a record without a mark) and "what is the latest" (the highest seq in a
// name), without decoding any record; a current summary answers both
// without the listing, so apply costs the same with 50 records as with one.
type store struct {
	dir string
	// decoded, when set, keeps what load returned per transaction and
	// state for the life of one read-only command (status decodes a
	// crashed record for the summary and for the crash report once).
	decoded map[string]loaded
}

type loaded struct {
	r   *Record
	err error
}

func (s store) txDir() string         { return filepath.Join(s.dir, "tx") }
func (s store) path(id string) string { return filepath.Join(s.txDir(), id+".json") }
func (s store) markPath(id string, st TxState) string {
	return filepath.Join(s.txDir(), id+"."+string(st))
}
func (s store) lockPath() string { return filepath.Join(s.dir, "lock") }
func (s store) ensure() error    { return os.MkdirAll(s.txDir(), 0o755) }
func txIDFor(seq int, t time.Time) string {
	return fmt.Sprintf("%06d-%s", seq, t.UTC().Format("20060102T150405Z"))
}

// entry is one transaction as the directory listing shows it.
type entry struct {
	id     string
	seq    int
	record bool    // <id>.json exists
	mark   TxState // the highest mark; "" none
	marks  []TxState
}

// state is what the names say: the highest mark, or applying.
func (e *entry) state() TxState {
	if e.mark != "" {
		return e.mark
	}
	return TxApplying
}

// listing is the state directory read by name only, or as a current
// summary holds it (store.current): then entries are only the newest
// transactions and older keeps the rest as the summary's listing lines,
// unparsed, so that apply's cost does not grow with the records kept.
type listing struct {
	entries []*entry // oldest first, records only
	temps   []string // leftovers of killed writers
	orphans []string // marks without a record (a prune cut short)
	// older: "<id>.<state>\n" per transaction older than entries[0],
	// oldest first, olderN of them, every one finished (a current summary
	// has no open transaction). Empty for a listing read from the directory.
	older  string
	olderN int
	// pruned: the ids prune deleted.
	pruned map[string]bool
}

// count is the number of transactions listed.
func (l *listing) count() int { return l.olderN + len(l.entries) }

// open is the number of unfinished transactions (applying or
// restore-failed): the older ones of a summary's listing are finished.
func (l *listing) open() int {
	n := 0
	for _, e := range l.entries {
		if st := e.state(); st == TxApplying || st == TxRestoreFailed {
			n++
		}
	}
	return n
}

// all parses the older lines (a listing from a summary), so that entries
// holds every transaction: for the rare paths that need them all (a
// baseline rebuilt from the records).
func (l *listing) all() []*entry {
	if l.olderN > 0 {
		var es []*entry
		for rest := l.older; rest != ""; {
			var line string
			line, rest, _ = strings.Cut(rest, "\n")
			if e := parseListingLine(line); e != nil {
				es = append(es, e)
			}
		}
		l.entries = append(es, l.entries...)
		l.older, l.olderN = "", 0
	}
	return l.entries
}

// parseListingLine is one "<id>.<state>" line of a summary's listing; nil
// when it is not one.
func parseListingLine(line string) *entry {
	id, st, ok := strings.Cut(line, ".")
	if !ok || !validTxID(id) || TxState(st).rank() == 0 {
		return nil
	}
	e := &entry{id: id, seq: seqOf(id), record: true}
	if s := TxState(st); s != TxApplying {
		e.mark, e.marks = s, []TxState{s}
	}
	return e
}

func (l *listing) last() *entry {
	if len(l.entries) == 0 {
		return nil
	}
	return l.entries[len(l.entries)-1]
}

func (l *listing) find(id string) *entry {
	for _, e := range l.entries {
		if e.id == id {
			return e
		}
	}
	return nil
}

// add notes a record just written, in the state it reached.
func (l *listing) add(r *Record) {
	e := &entry{id: r.ID, seq: r.Seq, record: true}
	if r.State != TxApplying {
		e.mark, e.marks = r.State, []TxState{r.State}
	}
	l.entries = append(l.entries, e)
}

// scan lists the state directory by name.
func (s store) scan() (*listing, error) {
	l := &listing{}
	names, err := safefile.ReadDirNames(s.txDir()) // unsorted: sorted by seq below
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state directory: %w", err)
	}
	// A record and its mark share an id: it is checked and parsed once,
	// and the entries are allocated together.
	byID := make(map[string]*entry, len(names)/2+1)
	pool := make([]entry, 0, len(names)/2+1)
	get := func(id string) *entry {
		if e := byID[id]; e != nil {
			return e
		}
		if !validTxID(id) {
			return nil // baseline.json and strangers
		}
		if len(pool) == cap(pool) {
			pool = make([]entry, 0, 8)
		}
		pool = append(pool, entry{id: id, seq: seqOf(id)})
		e := &pool[len(pool)-1]
		byID[id] = e
		return e
	}
	for _, name := range names {
		if strings.HasPrefix(name, ".") || name == oldSummaryName {
			l.temps = append(l.temps, name)
			continue
		}
		id, suffix, ok := strings.Cut(name, ".")
		if !ok {
			continue
		}
		if suffix == "json" {
			if e := get(id); e != nil {
				e.record = true
			}
			continue
		}
		st := TxState(suffix)
		if st.rank() < 2 {
			continue // not a mark
		}
		e := get(id)
		if e == nil {
			continue
		}
		e.marks = append(e.marks, st)
		if st.rank() > e.mark.rank() {
			e.mark = st
		}
	}
	for _, e := range byID {
		if !e.record {
			for _, m := range e.marks {
				l.orphans = append(l.orphans, e.id+"."+string(m))
			}
			continue
		}
		l.entries = append(l.entries, e)
	}
	slices.SortFunc(l.entries, func(a, b *entry) int { return cmp.Compare(a.seq, b.seq) })
	return l, nil
}

// sweep removes what killed runs left behind: temp files and orphan marks.
// Called with the lock held, so no writer owns them.
func (s store) sweep(l *listing) {
	for _, n := range append(l.temps, l.orphans...) {
		_ = os.Remove(filepath.Join(s.txDir(), n))
	}
	l.temps, l.orphans = nil, nil
}

// syncDirHook, when set (tests), replaces the fsync of a directory: fault
// injection at the one call whose failure after a rename is the subtle one.
var syncDirHook func(dir string) error

// syncDir fsyncs a directory so a rename in it survives a crash.
func syncDir(dir string) error {
	if syncDirHook != nil {
		if err := syncDirHook(dir); err != nil {
			return fmt.Errorf("fsync %s: %w", dir, err)
		}
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}

// writeDurable writes path atomically: temp file in the same directory,
// fsync, rename. It does not fsync the directory; renamed reports whether
// the rename happened (after which path holds data).
func writeDurable(path string, data []byte) (renamed bool, err error) {
	pf, err := renameio.NewPendingFile(path, renameio.WithTempDir(filepath.Dir(path)), renameio.WithStaticPermissions(0o644))
	if err != nil {
		return false, err
	}
	defer pf.Cleanup()
	if _, err := pf.Write(data); err != nil {
		return false, err
	}
	// CloseAtomicallyReplace is fsync, close, rename: an error means the
	// rename did not happen.
	if err := pf.CloseAtomicallyReplace(); err != nil {
		return false, err
	}
	return true, nil
}

func encodeRecord(r *Record) ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// create writes the record of a new transaction durably: file and
// directory fsync'd. When the rename happened but the directory fsync
// failed, the record is removed again: nothing was written, and a record
// left behind would block the next apply as a crashed transaction.
func (s store) create(r *Record) error {
	if err := s.ensure(); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	// The summary is marked stale first: no current summary names a
	// listing without this record.
	if err := s.staleSummary(); err != nil {
		return fmt.Errorf("record transaction %s: %w", r.ID, err)
	}
	b, err := encodeRecord(r)
	if err != nil {
		return err
	}
	renamed, err := writeDurable(s.path(r.ID), b)
	if err == nil {
		err = syncDir(s.txDir())
	}
	if err != nil {
		if renamed {
			if rerr := os.Remove(s.path(r.ID)); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
				err = errors.Join(err, fmt.Errorf("remove the unfinished record: %w", rerr))
			}
		}
		return fmt.Errorf("record transaction %s: %w", r.ID, err)
	}
	return nil
}

// setState moves r to state st by writing the mark <id>.<st>, then removes
// the lower marks. durable fsyncs the mark and the directory; without it
// (the "applied" mark) a power loss can lose the mark, which leaves the
// durable record looking crashed: rollback restores the originals, the safe
// direction. It never touches the record itself.
func (s store) setState(r *Record, st TxState, durable bool) error {
	if err := s.staleSummary(); err != nil {
		return fmt.Errorf("record transaction %s as %s: %w", r.ID, st, err)
	}
	prev := r.State
	r.State = st
	m := mark{State: st, Finished: r.Finished, Error: r.Error, History: r.History}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	p := s.markPath(r.ID, st)
	if durable {
		if _, err = writeDurable(p, b); err == nil {
			err = syncDir(s.txDir())
		}
	} else {
		err = writeQuick(p, b)
	}
	if err != nil {
		r.State = prev
		return fmt.Errorf("record transaction %s as %s: %w", r.ID, st, err)
	}
	for _, old := range []TxState{TxApplied, TxRestoreFailed, TxFailed, TxRolledBack, TxResolved} {
		if old != st && old.rank() <= st.rank() {
			_ = os.Remove(s.markPath(r.ID, old))
		}
	}
	return nil
}

// writeQuick creates path with data: no temp file, no fsync, never through
// a symlink or into a FIFO.
func writeQuick(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	return errors.Join(werr, f.Close())
}

// replaceQuick replaces path with data for files that are caches or
// coordination, not part of the crash-safety promise: a temp file in the
// same directory ("." + name + ".tmp", so never a probe of /tmp), rename,
// no fsync. A power loss may leave the old content or an empty file.
func replaceQuick(path string, data []byte) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := writeQuick(tmp, data); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// CorruptRecord is a record that cannot be read or fails validation.
type CorruptRecord struct {
	ID    string  `json:"id"`
	Path  string  `json:"path"`
	State TxState `json:"state"` // what its marks say
	Error string  `json:"error"`
}

// errCorrupt marks a record that exists but cannot be trusted.
var errCorrupt = errors.New("corrupt transaction record")

// load reads and checks one record and applies its mark; every key and value
// is re-validated, as the file is input like any other.
func (s store) load(e *entry) (*Record, error) {
	if s.decoded == nil {
		return s.decode(e)
	}
	k := e.id + "." + string(e.state())
	if d, ok := s.decoded[k]; ok {
		if d.r != nil {
			cp := *d.r
			return &cp, nil
		}
		return nil, d.err
	}
	r, err := s.decode(e)
	s.decoded[k] = loaded{r, err}
	if r != nil {
		cp := *r
		r = &cp
	}
	return r, err
}

func (s store) decode(e *entry) (*Record, error) {
	b, err := safefile.ReadFile(s.path(e.id), maxRecordSize, safefile.NoFollow)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errCorrupt, err)
	}
	r, err := parseRecord(s.path(e.id), b)
	if err != nil {
		return nil, err
	}
	if r.ID != e.id || r.Seq != e.seq {
		return nil, fmt.Errorf("%w: %s: id %q seq %d do not match the file name", errCorrupt, s.path(e.id), r.ID, r.Seq)
	}
	if e.mark.rank() > r.State.rank() {
		r.State = e.mark
		mb, err := safefile.ReadFile(s.markPath(e.id, e.mark), maxRecordSize, safefile.NoFollow)
		var m mark
		if err == nil && json.Unmarshal(mb, &m) == nil && m.State == e.mark {
			r.Finished, r.Error, r.History = m.Finished, m.Error, m.History
		}
		// An unreadable mark (emptied by a power loss) still says the state.
	}
	return r, nil
}

// parseRecord decodes and validates a record: format, id, sequence, state,
// and every original's key by validate.KeyAllowed (the policy profiles
// pass) and value by sysctl.ParseValue. A record that fails is never used
// to write anything.
func parseRecord(path string, b []byte) (*Record, error) {
	var r Record
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errCorrupt, path, err)
	}
	return parseRecordValue(path, &r)
}

func parseRecordValue(path string, rp *Record) (*Record, error) {
	r := *rp
	bad := func(format string, args ...any) (*Record, error) {
		return nil, fmt.Errorf("%w: %s: %s", errCorrupt, path, fmt.Sprintf(format, args...))
	}
	if r.Format != recordFormat && r.Format != oldRecordFormat {
		return bad("format %d, this tcptune reads %d", r.Format, recordFormat)
	}
	if !validTxID(r.ID) || seqOf(r.ID) != r.Seq || r.Seq < 0 {
		return bad("id %q and seq %d do not agree", r.ID, r.Seq)
	}
	if r.State.rank() == 0 {
		return bad("unknown state %q", r.State)
	}
	if r.Format == recordFormat && r.State != TxApplying {
		return bad("state %q in the record body (later states are marks)", r.State)
	}
	for _, o := range r.Originals {
		if o.Key.IsZero() {
			return bad("original without a key")
		}
		if err := validate.KeyAllowed(o.Key); err != nil && !grantHonoured(path, r.Granted, o.Key) {
			return bad("original: %v", err)
		}
		if err := checkLine(o.Key, o.Value); err != nil {
			return bad("original of %s: %v", o.Key, err)
		}
		if err := checkLine(o.Key, o.Target); err != nil {
			return bad("target of %s: %v", o.Key, err)
		}
	}
	if r.Persist != nil && (!filepath.IsAbs(r.Persist.Path) || filepath.Clean(r.Persist.Path) != r.Persist.Path) {
		return bad("persisted file %q is not a clean absolute path", r.Persist.Path)
	}
	return &r, nil
}

// loadAll decodes the records of es (status, rollback): the good ones, and
// the corrupt ones reported separately. Only errors other than a corrupt
// record are returned as err.
func (s store) loadAll(es []*entry) (good []*Record, bad []CorruptRecord, err error) {
	for _, e := range es {
		r, lerr := s.load(e)
		if errors.Is(lerr, errCorrupt) {
			bad = append(bad, CorruptRecord{ID: e.id, Path: s.path(e.id), State: e.state(), Error: lerr.Error()})
			continue
		}
		if lerr != nil {
			return nil, nil, lerr
		}
		good = append(good, r)
	}
	return good, bad, nil
}

// crashed returns the transactions left unfinished: a record with no mark
// (decoded, to tell an old-format record's inner state) or restore-failed.
// Corrupt records without a final mark count: their originals cannot be
// trusted, so they block until resolved or undone from the baseline.
func (s store) crashed(l *listing) ([]*Record, []CorruptRecord, error) {
	var cand []*entry
	for _, e := range l.entries {
		if st := e.state(); st == TxApplying || st == TxRestoreFailed {
			cand = append(cand, e)
		}
	}
	good, bad, err := s.loadAll(cand)
	if err != nil {
		return nil, nil, err
	}
	var out []*Record
	for _, r := range good {
		if r.State == TxApplying || r.State == TxRestoreFailed {
			out = append(out, r)
		}
	}
	return out, bad, nil
}

// MaxRecords bounds the transaction records kept in the state directory:
// every apply (and every reconcile correction) adds one. Older records are
// deleted after a successful apply, so 'rollback --to' reaches back at most
// this many transactions; the baseline ('rollback --baseline') keeps the
// original of every key tcptune ever changed. A record of a crashed or
// failed-to-restore transaction is never deleted.
const MaxRecords = 50

// prune deletes the oldest records beyond keep (l oldest first), except
// unfinished ones: the record first, then its marks, so a prune cut short
// leaves an orphan mark (swept later), never a record that looks crashed.
// No fsync: a record that reappears after a power loss is only an old one.
func (s store) prune(l *listing, keep int) error {
	if l.count() <= keep {
		return nil
	}
	if err := s.staleSummary(); err != nil {
		return err
	}
	if l.pruned == nil {
		l.pruned = map[string]bool{}
	}
	if n := l.count() - keep; l.olderN >= n {
		return s.pruneOlder(l, n)
	}
	l.all()
	var errs []error
	n := len(l.entries) - keep
	left := make([]*entry, 0, keep+1)
	for i, e := range l.entries {
		if st := e.state(); i >= n || st == TxApplying || st == TxRestoreFailed {
			left = append(left, e)
			continue
		}
		if err := os.Remove(s.path(e.id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			left = append(left, e)
			continue
		}
		for _, m := range e.marks {
			_ = os.Remove(s.markPath(e.id, m))
		}
		l.pruned[e.id] = true
	}
	l.entries = left
	return errors.Join(errs...)
}

// pruneOlder deletes the oldest n of a summary's older lines (every one
// finished), record then mark, parsing only those lines; it stops at the
// first that cannot be deleted, which stays listed.
func (s store) pruneOlder(l *listing, n int) error {
	for ; n > 0; n-- {
		line, rest, _ := strings.Cut(l.older, "\n")
		e := parseListingLine(line)
		if e == nil {
			return fmt.Errorf("prune: summary line %q is not a transaction", line)
		}
		if st := e.state(); st == TxApplying || st == TxRestoreFailed {
			return fmt.Errorf("prune: transaction %s is %s", e.id, st)
		}
		if err := os.Remove(s.path(e.id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		_ = os.Remove(s.markPath(e.id, e.mark))
		if e.mark.rank() == TxFailed.rank() {
			// The line names the highest mark: the lower ones a setState
			// killed before removing them left go too.
			_ = os.Remove(s.markPath(e.id, TxApplied))
			_ = os.Remove(s.markPath(e.id, TxRestoreFailed))
		}
		l.pruned[e.id] = true
		l.older, l.olderN = rest, l.olderN-1
	}
	return nil
}

// validTxID: 1-12 digits of sequence, '-', a UTC timestamp
// YYYYMMDDTHHMMSSZ. Checked by hand: it runs for every name in the state
// directory on every apply.
func validTxID(id string) bool {
	seq, ts, ok := strings.Cut(id, "-")
	if !ok || len(seq) < 1 || len(seq) > 12 || len(ts) != len("20060102T150405Z") {
		return false
	}
	for i := 0; i < len(seq); i++ {
		if seq[i] < '0' || seq[i] > '9' {
			return false
		}
	}
	for i := 0; i < len(ts); i++ {
		c := ts[i]
		switch i {
		case 8:
			if c != 'T' {
				return false
			}
		case 15:
			if c != 'Z' {
				return false
			}
		default:
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}

// seqOf is the sequence number in a valid id; -1 otherwise.
func seqOf(id string) int {
	seq, _, _ := strings.Cut(id, "-")
	n, err := strconv.Atoi(seq)
	if err != nil || len(seq) > 12 {
		return -1
	}
	return n
}
