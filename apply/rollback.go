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
		settings, rerr := restore(o.IO, rec.Originals)
		for i := range settings {
			settings[i].Transaction = rec.ID
		}
		res.Settings = append(res.Settings, settings...)
		o.auditRollback(rec, settings, res)
		if rerr == nil {
			// Reconcile must not put back what was just rolled back.
			if nerr := st.note(rollbackWrites(rec, settings, o.Now())); nerr != nil {
				noteErrs = append(noteErrs, fmt.Errorf("transaction %s: %w", rec.ID, nerr))
			}
		}
		if rec.Persist != nil && rec.Persist.Changed {
			if ferr := restoreSnapshot(rec.Persist); ferr != nil {
				rerr = errors.Join(rerr, ferr)
			} else {
				res.PersistRestored = append(res.PersistRestored, rec.Persist.Path)
			}
		}
		t := o.Now()
		rec.Finished = &t
		if rerr != nil {
			rec.State = TxRestoreFailed
			rec.History = append(rec.History, t.UTC().Format("2006-01-02T15:04:05Z")+" rollback incomplete: "+rerr.Error())
			errs = append(errs, fmt.Errorf("transaction %s: %w", rec.ID, rerr))
		} else {
			rec.State = TxRolledBack
			rec.History = append(rec.History, t.UTC().Format("2006-01-02T15:04:05Z")+" rolled back")
		}
		if serr := st.save(rec); serr != nil {
			errs = append(errs, serr)
		}
		if rerr != nil {
			break // do not restore older originals over a half-restored newer one
		}
	}
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

// rollbackTargets returns the open transactions to restore, newest first.
func rollbackTargets(st store, to string) ([]*Record, error) {
	recs, err := st.list()
	if err != nil {
		return nil, err
	}
	var open []*Record
	for _, r := range recs {
		if r.State.Open() {
			open = append(open, r)
		}
	}
	if to == "" {
		if len(open) == 0 {
			return nil, ErrNoTransaction
		}
		return []*Record{open[len(open)-1]}, nil
	}
	named, err := byID(recs, to)
	if err != nil {
		return nil, err
	}
	if !named.State.Open() {
		return nil, fmt.Errorf("%w: transaction %s is already %s", ErrNoTransaction, named.ID, named.State)
	}
	var out []*Record
	for i := len(open) - 1; i >= 0 && open[i].Seq >= named.Seq; i-- {
		out = append(out, open[i])
	}
	return out, nil
}

// Resolve declares a crashed (or restore-failed) transaction settled
// without restoring anything: the admin accepts the live values. id ""
// means the only such transaction.
func Resolve(opts Options, id string) (string, error) {
	o := opts.withDefaults()
	st := store{dir: o.StateDir}
	lk, err := acquire(context.Background(), st, o.LockWait, false)
	if err != nil {
		return "", err
	}
	defer lk.release()
	recs, err := st.list()
	if err != nil {
		return "", err
	}
	if id != "" {
		r, err := byID(recs, id)
		if err != nil {
			return "", err
		}
		id = r.ID
	}
	var cands []*Record
	for _, r := range recs {
		if (r.State == TxApplying || r.State == TxRestoreFailed) && (id == "" || r.ID == id) {
			cands = append(cands, r)
		}
	}
	switch {
	case len(cands) == 0 && id != "":
		return "", fmt.Errorf("%w: no crashed transaction %q", ErrNoTransaction, id)
	case len(cands) == 0:
		return "", fmt.Errorf("%w: no crashed transaction", ErrNoTransaction)
	case len(cands) > 1:
		return "", fmt.Errorf("several crashed transactions (%s): name one", ids(cands))
	}
	r := cands[0]
	t := o.Now()
	r.State, r.Finished = TxResolved, &t
	r.History = append(r.History, t.UTC().Format("2006-01-02T15:04:05Z")+" resolved without restoring")
	return r.ID, st.save(r)
}

// byID finds the record named by id or by a unique prefix of it
// ("000003" for 000003-20250101T120000Z).
func byID(recs []*Record, id string) (*Record, error) {
	var hits []*Record
	for _, r := range recs {
		if r.ID == id {
			return r, nil
		}
		if strings.HasPrefix(r.ID, id) {
			hits = append(hits, r)
		}
	}
	switch {
	case id == "" || len(hits) == 0:
		return nil, fmt.Errorf("%w: no transaction %q (known: %s)", ErrNoTransaction, id, ids(recs))
	case len(hits) > 1:
		return nil, fmt.Errorf("%w: %q names %d transactions (%s): give more of the id", ErrNoTransaction, id, len(hits), ids(hits))
	}
	return hits[0], nil
}

// rollbackWrites are the last-writer entries of a restored transaction:
// every key it had written, now back at its original.
func rollbackWrites(rec *Record, settings []Setting, now time.Time) []LastWrite {
	out := make([]LastWrite, 0, len(settings))
	for _, s := range settings {
		out = append(out, LastWrite{Key: s.Key, Kind: WriterRollback, Transaction: rec.ID, Profiles: rec.Profiles, Value: s.After, Time: now})
	}
	return out
}

func ids(rs []*Record) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.ID
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
