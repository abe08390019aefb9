package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// RollbackResult is what Rollback did, in the stable JSON shape.
type RollbackResult struct {
	Changed bool `json:"changed"`
	Failed  bool `json:"failed"`
	// Transactions rolled back, newest first.
	Transactions []string `json:"transactions"`
	// Settings: before = live before the rollback, after = the original
	// restored; action "restored", "unchanged" or "restore-failed".
	Settings []Setting `json:"settings"`
	// PersistRestored lists persisted files put back as they were.
	PersistRestored []string `json:"persist_restored"`
	// Warnings: what went wrong without failing the rollback (the audit
	// trail could not be written).
	Warnings []string `json:"warnings"`
}

// ErrCorruptRecord: a transaction record cannot be read or fails
// validation; nothing in it is written. 'rollback --baseline' or
// 'rollback --resolve ID' is the way out.
var ErrCorruptRecord = errors.New("transaction record is corrupt")

// Rollback restores the originals of the last transaction still in effect
// (applied, or left "applying" by a crash), or, with to set, of every
// transaction in effect from the newest back to and including to. Each is
// restored newest first, keys in reverse write order, each verified by
// reading back, and its persisted file is put back as it was.
//
// ctx only bounds waiting for the lock; once restoring starts it runs to the
// end, since half a rollback is worse than a slow one.
func Rollback(ctx context.Context, opts Options, to string) (*RollbackResult, error) {
	o := opts.withDefaults()
	res := &RollbackResult{Transactions: []string{}, Settings: []Setting{}, PersistRestored: []string{}, Warnings: []string{}}
	st := store{dir: o.StateDir}
	lk, err := acquire(ctx, st, o.LockWait, false)
	if err != nil {
		res.Failed = true
		return res, err
	}
	defer lk.release()
	targets, err := rollbackTargets(st, to)
	if err == nil {
		err = o.checkTargets(targets)
	}
	if err != nil {
		res.Failed = true
		return res, err
	}
	var errs, noteErrs []error
	for _, rec := range targets {
		res.Transactions = append(res.Transactions, rec.ID)
		rr, rerr := o.rollbackOne(st, rec)
		for i := range rr.Settings {
			rr.Settings[i].Transaction = rec.ID
		}
		res.Settings = append(res.Settings, rr.Settings...)
		res.PersistRestored = append(res.PersistRestored, rr.PersistRestored...)
		o.auditRollback(rec, rr.Settings, res)
		if rerr != nil {
			errs = append(errs, rerr)
			break // do not restore older originals over a half-restored newer one
		}
		// Reconcile must not put back what was just rolled back.
		if nerr := st.note(rollbackWrites(rec.ID, rec.Profiles, rr.Settings, o.Now())); nerr != nil {
			noteErrs = append(noteErrs, fmt.Errorf("transaction %s: %w", rec.ID, nerr))
		}
	}
	_ = st.refreshSummary()
	return finishRollback(res, errs, noteErrs)
}

func finishRollback(res *RollbackResult, errs, noteErrs []error) (*RollbackResult, error) {
	for _, s := range res.Settings {
		if s.Action != ActionUnchanged {
			res.Changed = true
		}
	}
	res.Changed = res.Changed || len(res.PersistRestored) > 0
	if len(errs) > 0 {
		res.Failed = true
		return res, fmt.Errorf("%w: %w", ErrRestore, joinErrs(append(errs, noteErrs...)))
	}
	if len(noteErrs) > 0 {
		res.Failed = true
		return res, fmt.Errorf("%w: restored, but not recorded for a running reconcile, which may re-apply these keys: %w",
			ErrNotRecorded, joinErrs(noteErrs))
	}
	return res, nil
}

// rollbackWrites are the last-writer entries of a restore: every key the
// transaction (or the baseline) had written, now back at its original.
func rollbackWrites(tx string, profiles []string, settings []Setting, now time.Time) []LastWrite {
	out := make([]LastWrite, 0, len(settings))
	for _, s := range settings {
		out = append(out, LastWrite{Key: s.Key, Kind: WriterRollback, Transaction: tx, Profiles: profiles, Value: s.After, Time: now})
	}
	return out
}

// rollbackOne restores one transaction's originals and persisted file and
// marks it rolled back (or restore-failed). The returned error is the
// restore's or the record's.
func (o Options) rollbackOne(st store, rec *Record) (*RollbackResult, error) {
	res := &RollbackResult{}
	settings, rerr := restore(o.IO, rec.Originals)
	res.Settings = settings
	if rec.Persist != nil && rec.Persist.Changed {
		if ferr := o.restoreOwned(rec.Persist); ferr != nil {
			rerr = errors.Join(rerr, ferr)
		} else {
			res.PersistRestored = append(res.PersistRestored, rec.Persist.Path)
		}
	}
	t := o.Now()
	rec.Finished = &t
	next := TxRolledBack
	if rerr != nil {
		next = TxRestoreFailed
		rec.History = append(rec.History, t.UTC().Format("2006-01-02T15:04:05Z")+" rollback incomplete: "+rerr.Error())
		rerr = fmt.Errorf("transaction %s: %w", rec.ID, rerr)
	} else {
		rec.History = append(rec.History, t.UTC().Format("2006-01-02T15:04:05Z")+" rolled back")
	}
	if serr := st.setState(rec, next, true); serr != nil {
		rerr = errors.Join(rerr, serr)
	}
	return res, rerr
}

// restoreOwned puts back a recorded persisted file, but only the one this
// tcptune is configured to own: a record is input, and a tampered one must
// not make rollback write any other file.
func (o Options) restoreOwned(s *FileSnapshot) error {
	if s.Path != o.PersistPath() {
		return fmt.Errorf("%w: the record's persisted file %s is not %s (--persist-dir); not restored", ErrCorruptRecord, s.Path, o.PersistPath())
	}
	return restoreSnapshot(s)
}

// rollbackTargets returns the open transactions to restore, newest first.
// Only the records needed are decoded; a corrupt one among them stops the
// rollback with the way out.
func rollbackTargets(st store, to string) ([]*Record, error) {
	l, err := st.scan()
	if err != nil {
		return nil, err
	}
	var open []*entry
	for _, e := range l.entries {
		if e.state().Open() {
			open = append(open, e)
		}
	}
	var want []*entry
	switch {
	case to == "":
		want = open
	default:
		named, err := l.findPrefix(to)
		if err != nil {
			return nil, err
		}
		if !named.state().Open() {
			return nil, fmt.Errorf("%w: transaction %s is already %s", ErrNoTransaction, named.id, named.state())
		}
		for _, e := range open {
			if e.seq >= named.seq {
				want = append(want, e)
			}
		}
	}
	var out []*Record
	for i := len(want) - 1; i >= 0; i-- {
		r, err := st.load(want[i])
		if err != nil {
			return nil, corruptErr(want[i].id, err)
		}
		if !r.State.Open() {
			continue // an old-format record whose state was inside it
		}
		out = append(out, r)
		if to == "" {
			break
		}
	}
	if len(out) == 0 {
		return nil, ErrNoTransaction
	}
	return out, nil
}

func corruptErr(id string, err error) error {
	if errors.Is(err, errCorrupt) {
		return fmt.Errorf("%w: %s: %w; nothing was restored from it. Way out: 'tcptune rollback --baseline' restores every key tcptune ever changed to its value from before tcptune, 'tcptune rollback --resolve --to %s' keeps the live values", ErrCorruptRecord, id, err, id)
	}
	return err
}

// RollbackBaseline restores every key tcptune ever changed to its value
// from before the first transaction that changed it, and the persisted file
// to what it was before tcptune first replaced it; every open transaction
// (corrupt ones included: their keys are in the baseline) is then marked
// rolled back. It is the way back past pruned records and out of a corrupt
// one.
func RollbackBaseline(ctx context.Context, opts Options) (*RollbackResult, error) {
	o := opts.withDefaults()
	res := &RollbackResult{Transactions: []string{}, Settings: []Setting{}, PersistRestored: []string{}, Warnings: []string{}}
	st := store{dir: o.StateDir}
	lk, err := acquire(ctx, st, o.LockWait, false)
	if err != nil {
		res.Failed = true
		return res, err
	}
	defer lk.release()
	bl, err := st.loadBaseline()
	if err != nil {
		res.Failed = true
		return res, err
	}
	l, err := st.scan()
	if err != nil {
		res.Failed = true
		return res, err
	}
	if len(bl.Keys) == 0 && bl.Persist == nil {
		res.Failed = true
		return res, fmt.Errorf("%w: the baseline is empty (tcptune never changed a key here)", ErrNoTransaction)
	}
	if bl.Where != nil {
		if err := o.checkTargets([]*Record{{ID: "baseline", SysctlRoot: bl.Where.SysctlRoot, Where: bl.Where}}); err != nil {
			res.Failed = true
			return res, err
		}
	}
	settings, rerr := restore(o.IO, bl.Keys)
	res.Settings = append(res.Settings, settings...)
	if bl.Persist != nil {
		if ferr := o.restoreOwned(bl.Persist); ferr != nil {
			rerr = errors.Join(rerr, ferr)
		} else {
			res.PersistRestored = append(res.PersistRestored, bl.Persist.Path)
		}
	}
	var errs, noteErrs []error
	if rerr != nil {
		errs = append(errs, rerr)
		return finishRollback(res, errs, nil) // transactions stay open
	}
	if nerr := st.note(rollbackWrites("baseline", nil, settings, o.Now())); nerr != nil {
		noteErrs = append(noteErrs, fmt.Errorf("baseline: %w", nerr))
	}
	t := o.Now()
	for i := len(l.entries) - 1; i >= 0; i-- {
		e := l.entries[i]
		if !e.state().Open() {
			continue
		}
		rec := &Record{ID: e.id, State: e.state(), Finished: &t,
			History: []string{t.UTC().Format("2006-01-02T15:04:05Z") + " rolled back to the baseline"}}
		if serr := st.setState(rec, TxRolledBack, true); serr != nil {
			errs = append(errs, serr)
		}
		res.Transactions = append(res.Transactions, e.id)
	}
	_ = st.refreshSummary()
	return finishRollback(res, errs, noteErrs)
}

// Resolve declares a crashed (or restore-failed) transaction settled
// without restoring anything: the admin accepts the live values. id ""
// means the only such transaction. It works on a corrupt record too: only
// the mark is written.
//
// ctx bounds waiting for the lock (Ctrl-C ends the wait).
func Resolve(ctx context.Context, opts Options, id string) (string, error) {
	o := opts.withDefaults()
	st := store{dir: o.StateDir}
	lk, err := acquire(ctx, st, o.LockWait, false)
	if err != nil {
		return "", err
	}
	defer lk.release()
	l, err := st.scan()
	if err != nil {
		return "", err
	}
	if id != "" {
		e, err := l.findPrefix(id)
		if err != nil {
			return "", err
		}
		id = e.id
	}
	recs, corrupt, err := st.crashed(l)
	if err != nil {
		return "", err
	}
	var cands []string
	for _, r := range recs {
		if id == "" || r.ID == id {
			cands = append(cands, r.ID)
		}
	}
	for _, c := range corrupt {
		if id == "" || c.ID == id {
			cands = append(cands, c.ID)
		}
	}
	switch {
	case len(cands) == 0 && id != "":
		return "", fmt.Errorf("%w: no crashed transaction %q", ErrNoTransaction, id)
	case len(cands) == 0:
		return "", fmt.Errorf("%w: no crashed transaction", ErrNoTransaction)
	case len(cands) > 1:
		return "", fmt.Errorf("several crashed transactions (%s): name one", strings.Join(cands, ", "))
	}
	t := o.Now()
	r := &Record{ID: cands[0], Finished: &t, History: []string{t.UTC().Format("2006-01-02T15:04:05Z") + " resolved without restoring"}}
	for _, rec := range recs {
		if rec.ID == r.ID {
			r = rec
			r.Finished = &t
			r.History = append(r.History, t.UTC().Format("2006-01-02T15:04:05Z")+" resolved without restoring")
		}
	}
	err = st.setState(r, TxResolved, true)
	_ = st.refreshSummary()
	return r.ID, err
}

// findPrefix finds the transaction named by id or by a unique prefix of it
// ("000003" for 000003-20250101T120000Z).
func (l *listing) findPrefix(id string) (*entry, error) {
	if e := l.find(id); e != nil {
		return e, nil
	}
	var hits []*entry
	for _, e := range l.entries {
		if id != "" && strings.HasPrefix(e.id, id) {
			hits = append(hits, e)
		}
	}
	switch len(hits) {
	case 1:
		return hits[0], nil
	case 0:
		return nil, fmt.Errorf("%w: no transaction %q (known: %s; older ones were pruned, 'rollback --baseline' restores the values from before tcptune)", ErrNoTransaction, id, entryIDs(l.entries))
	}
	return nil, fmt.Errorf("%w: %q names %d transactions (%s): give more of the id", ErrNoTransaction, id, len(hits), entryIDs(hits))
}

func entryIDs(es []*entry) string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.id
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
