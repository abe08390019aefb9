package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
	res := &RollbackResult{Transactions: []string{}, Settings: []Setting{}, PersistRestored: []string{}}
	st := store{dir: o.StateDir}
	lk, err := acquire(st, o.LockWait, false)
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
	var errs []error
	for _, rec := range targets {
		res.Transactions = append(res.Transactions, rec.ID)
		settings, rerr := restore(o.IO, rec.Originals)
		res.Settings = append(res.Settings, settings...)
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
		return res, fmt.Errorf("%w: %v", ErrRestore, joinErrs(errs))
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
	var named *Record
	for _, r := range recs {
		if r.ID == to {
			named = r
		}
	}
	if named == nil {
		return nil, fmt.Errorf("%w: no transaction %q (known: %s)", ErrNoTransaction, to, ids(recs))
	}
	if !named.State.Open() {
		return nil, fmt.Errorf("%w: transaction %s is already %s", ErrNoTransaction, to, named.State)
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
	lk, err := acquire(st, o.LockWait, false)
	if err != nil {
		return "", err
	}
	defer lk.release()
	recs, err := st.list()
	if err != nil {
		return "", err
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
