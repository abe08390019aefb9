package apply

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
	"github.com/tcptune/tcptune/validate"
)

// Apply applies a resolved profile as one transaction; see the package doc
// for the steps. On failure it returns both the Result (Failed set, the
// plan's settings) and the error; a *TxError when writes had started.
func Apply(ctx context.Context, r *profiles.Resolved, opts Options) (*Result, error) {
	o := opts.withDefaults()
	res := &Result{Profiles: r.Profiles, DryRun: o.DryRun, Settings: []Setting{}, Restart: []RestartEntry{}, Warnings: []string{}}
	fail := func(err error) (*Result, error) { res.Failed = true; return res, err }

	if err := o.check(r, res); err != nil {
		return fail(err)
	}
	if o.NoPersist && o.NoPersistReason != "" {
		res.PersistSkipped = o.NoPersistReason
		res.Warnings = append(res.Warnings, "not persisted: "+o.NoPersistReason)
	}
	st := store{dir: o.StateDir}
	var recs []*Record // read once, under the lock
	if !o.DryRun {
		lk, err := acquire(st, o.LockWait, false)
		if err != nil {
			return fail(err)
		}
		defer lk.release()
		if recs, err = st.list(); err != nil {
			return fail(err)
		}
		if err := refuseCrashed(recs); err != nil {
			return fail(err)
		}
	}
	// Plan under the lock: another apply may just have changed live values.
	plan, err := NewPlan(r, o.IO, o.Netns)
	if err != nil {
		return fail(err)
	}
	res.Plan = plan
	res.Settings = settingsOf(plan)
	if err := o.checkPlan(plan); err != nil {
		return fail(err)
	}
	pp, err := o.planPersist(plan, res)
	if err != nil {
		return fail(err)
	}
	toSet := plan.ToSet()
	res.Changed = len(toSet) > 0 || (pp != nil && pp.snap.Changed)
	if o.DryRun || !res.Changed {
		o.restartList(ctx, toSet, res)
		return res, nil
	}

	rec, err := o.begin(st, recs, plan, toSet, pp)
	if err != nil {
		return fail(err)
	}
	res.Transaction = rec.ID
	if err := o.run(ctx, rec, toSet, pp); err != nil {
		return fail(o.abort(st, rec, toSet, pp, err))
	}
	if err := st.prune(append(recs, rec), MaxRecords); err != nil {
		res.Warnings = append(res.Warnings, "could not prune old transaction records: "+err.Error())
	}
	o.restartList(ctx, toSet, res)
	return res, nil
}

// check validates before anything is locked or read: the profile's
// diagnostics and the one-line guarantee of every key and value.
func (o Options) check(r *profiles.Resolved, res *Result) error {
	ds := o.Validator(r)
	var errs []string
	for _, d := range ds {
		if d.Severity == validate.SevError {
			errs = append(errs, d.String())
		} else if d.Severity == validate.SevWarning {
			res.Warnings = append(res.Warnings, d.String())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(errs, "; "))
	}
	for _, s := range r.Settings {
		if err := checkLine(s.Key, s.Value); err != nil {
			return fmt.Errorf("%s: %w", s.Pos, err)
		}
	}
	return nil
}

// checkPlan refuses a plan with an absent key or a key that cannot be
// written here. Host-wide keys in a child namespace are not refusals.
func (o Options) checkPlan(p *Plan) error {
	wc, ok := o.IO.(writableChecker)
	if !ok {
		wc = o.FS
	}
	var errs []string
	for _, c := range p.Changes {
		switch c.Action {
		case ActionAbsent:
			errs = append(errs, fmt.Sprintf("%s: this kernel has no such key", c.Key))
		case ActionSet:
			if err := wc.Writable(c.Key); err != nil {
				errs = append(errs, err.Error())
			}
		}
		if c.Action != ActionAbsent && c.Action != ActionHostWide {
			if err := checkLine(c.Key, c.After); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s; nothing was written", ErrInvalid, strings.Join(errs, "; "))
	}
	return nil
}

func settingsOf(p *Plan) []Setting {
	out := make([]Setting, 0, len(p.Changes))
	for _, c := range p.Changes {
		out = append(out, Setting{Key: c.Key, Before: c.Before, After: c.After, Action: c.Action, Note: c.Note})
	}
	return out
}

// refuseCrashed fails while a transaction is left "applying". Called with
// the lock held, so no live process owns such a record.
func refuseCrashed(recs []*Record) error {
	for _, r := range recs {
		if r.State == TxApplying || r.State == TxRestoreFailed {
			return fmt.Errorf("%w: transaction %s (%s, pid %d, started %s) is %s",
				ErrCrashed, r.ID, strings.Join(r.Profiles, "+"), r.PID, r.Started.Format("2006-01-02 15:04:05"), r.State)
		}
	}
	return nil
}

// begin records the transaction durably: nothing is written before this
// returns.
func (o Options) begin(st store, recs []*Record, plan *Plan, toSet []Change, pp *persistPlan) (*Record, error) {
	seq := 1
	if len(recs) > 0 {
		seq = recs[len(recs)-1].Seq + 1
	}
	now := o.Now()
	rec := &Record{
		Format: recordFormat, ID: txIDFor(seq, now), Seq: seq, State: TxApplying,
		Profiles: plan.Profiles, Version: o.Version, PID: os.Getpid(),
		SysctlRoot: o.FS.Root(), Netns: o.Netns.String(), Started: now, Plan: plan,
		Originals: []Original{},
	}
	if err := o.stamp(rec); err != nil {
		return nil, err
	}
	for _, c := range toSet {
		rec.Originals = append(rec.Originals, Original{Key: c.Key, Value: c.Before, Target: c.After})
	}
	if pp != nil {
		rec.Persist = pp.snap
	}
	if err := st.save(rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// writeFailure is a failed write with the key it concerns.
type writeFailure struct {
	key     sysctl.Key
	written int // keys possibly changed, counting the failed one
	err     error
}

func (w *writeFailure) Error() string { return w.err.Error() }
func (w *writeFailure) Unwrap() error { return w.err }

// run performs the writes with read-back, then persists and commits.
func (o Options) run(ctx context.Context, rec *Record, toSet []Change, pp *persistPlan) error {
	for i, c := range toSet {
		if err := ctx.Err(); err != nil {
			return &writeFailure{written: i, err: fmt.Errorf("interrupted before writing %s: %w", c.Key, context.Cause(ctx))}
		}
		// A refused write may still have changed the value (a partial
		// vector), so the failed key counts as written: restoring it is
		// harmless and verified.
		if err := o.IO.Write(c.Key, c.After); err != nil {
			return &writeFailure{key: c.Key, written: i + 1, err: err}
		}
		got, err := o.IO.Read(c.Key)
		if err != nil {
			return &writeFailure{key: c.Key, written: i + 1, err: fmt.Errorf("read back: %w", err)}
		}
		if got != c.After {
			return &writeFailure{key: c.Key, written: i + 1,
				err: fmt.Errorf("%w: wrote %q, reads back %q (clamped or rewritten)", ErrReadBack, c.After, got)}
		}
		if o.AfterWrite != nil {
			o.AfterWrite(i+1, c.Key)
		}
	}
	if err := ctx.Err(); err != nil {
		return &writeFailure{written: len(toSet), err: fmt.Errorf("interrupted before persisting: %w", context.Cause(ctx))}
	}
	if pp != nil && pp.snap.Changed {
		if err := writeAtomic(pp.snap.Path, pp.content, 0o644); err != nil {
			return &writeFailure{written: len(toSet), err: fmt.Errorf("persist: %w", err)}
		}
		pp.written = true
	}
	rec.State = TxApplied
	t := o.Now()
	rec.Finished = &t
	if err := (store{dir: o.StateDir}).saveLazy(rec); err != nil {
		rec.State = TxApplying
		return &writeFailure{written: len(toSet), err: err}
	}
	return nil
}

// abort restores what run changed, in reverse order, verifies it, and
// closes the record.
func (o Options) abort(st store, rec *Record, toSet []Change, pp *persistPlan, cause error) error {
	te := &TxError{Transaction: rec.ID, Err: cause}
	n := len(toSet)
	var wf *writeFailure
	if errors.As(cause, &wf) {
		te.Key, n = wf.key, wf.written
	}
	originals := make([]Original, 0, n)
	for _, c := range toSet[:n] {
		originals = append(originals, Original{Key: c.Key, Value: c.Before, Target: c.After})
	}
	_, rerr := restore(o.IO, originals)
	if pp != nil && pp.written {
		if ferr := restoreSnapshot(rec.Persist); ferr != nil {
			rerr = errors.Join(rerr, ferr)
		}
	}
	t := o.Now()
	rec.Finished = &t
	rec.Error = cause.Error()
	if !te.Key.IsZero() && !strings.Contains(rec.Error, te.Key.String()) {
		rec.Error = te.Key.String() + ": " + rec.Error
	}
	rec.State = TxFailed
	if rerr != nil {
		rec.State = TxRestoreFailed
		rec.Error += "; restore: " + rerr.Error()
	}
	if serr := st.save(rec); serr != nil {
		rerr = errors.Join(rerr, serr)
	}
	te.Restored, te.RestoreErr = rerr == nil, rerr
	return te
}
