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

// Apply plans a resolved profile under the lock and applies that plan as
// one transaction; see the package doc for the steps. On failure it returns
// both the Result (Failed set, the plan's settings) and the error; a
// *TxError when writes had started.
func Apply(ctx context.Context, r *profiles.Resolved, opts Options) (*Result, error) {
	return opts.withDefaults().transact(ctx, r, nil)
}

// ApplyPlan applies exactly p: a plan saved by `tcptune diff --out` and
// bound to its profile (Bind), or one made earlier in this process
// (reconcile's drift check, possibly narrowed with Only). Under the lock it
// plans again and refuses, writing nothing, when a live value is no longer
// the one p observed (a *StaleError) or p's keys no longer come out the
// same (a *ProfileChangedError). Keys outside p are not touched.
func ApplyPlan(ctx context.Context, p *Plan, opts Options) (*Result, error) {
	if p == nil || p.resolved == nil {
		return &Result{Failed: true, Settings: []Setting{}, Restart: []RestartEntry{}, Warnings: []string{}},
			errors.New("apply: the plan is not bound to its profile (Plan.Bind)")
	}
	return opts.withDefaults().transact(ctx, p.resolved, p)
}

// transact is the one path of Apply and ApplyPlan: saved nil means "the plan
// made under the lock".
func (o Options) transact(ctx context.Context, r *profiles.Resolved, saved *Plan) (*Result, error) {
	res := &Result{Profiles: r.Profiles, DryRun: o.DryRun, Settings: []Setting{}, Restart: []RestartEntry{}, Warnings: []string{}}
	fail := func(err error) (*Result, error) { res.Failed = true; return res, err }

	if err := o.check(r, res); err != nil {
		return fail(err)
	}
	// A signal during validation (large profiles) stops here, before the
	// lock and the record.
	if err := ctx.Err(); err != nil {
		return fail(fmt.Errorf("%w before anything was written: %w", ErrInterrupted, context.Cause(ctx)))
	}
	if o.NoPersist && o.NoPersistReason != "" {
		res.PersistSkipped = o.NoPersistReason
		res.Warnings = append(res.Warnings, "not persisted: "+o.NoPersistReason)
	}
	st := store{dir: o.StateDir}
	var l *listing    // read once, under the lock
	var prev *summary // the summary of l when it is current
	if !o.DryRun {
		lk, err := acquire(ctx, st, o.LockWait, false)
		if err != nil {
			return fail(err)
		}
		defer lk.release()
		if l, prev, err = o.prepare(st, res); err != nil {
			return fail(err)
		}
		if o.Writers != nil {
			if err := o.Writers.checkCurrent(st); err != nil {
				return fail(err)
			}
		}
	}
	// Plan under the lock: another apply may just have changed live values.
	plan, err := NewPlan(r, o.IO, o.Netns)
	if err != nil {
		return fail(err)
	}
	if saved != nil {
		res.Settings = settingsOf(saved)
		if err := o.checkFresh(saved, plan); err != nil {
			return fail(err)
		}
		plan = saved
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
	// status's summary of l when l was read from the directory (patched if
	// a crash or a rollback left it behind): read only when a record will
	// be written, so an apply with nothing to do (boot, reconcile) skips
	// it. nil: a failure, and the summary is decoded after the apply.
	var known *baseFacts // from a current summary only
	if prev != nil {
		known = prev.baseline()
	} else {
		prev, _ = st.loadSummary(l)
	}

	rec, facts, err := o.begin(st, l, plan, toSet, pp, res, known)
	if err != nil {
		return fail(err)
	}
	res.Transaction = rec.ID
	if err := o.run(ctx, rec, toSet, pp); err != nil {
		err = o.abort(st, rec, toSet, pp, err)
		l.add(rec)
		st.updateSummary(prev, rec, l, facts)
		return fail(err)
	}
	if err := o.noteWrites(st, rec, toSet); err != nil {
		res.Warnings = append(res.Warnings, "could not record the writes for reconcile: "+err.Error())
	}
	l.add(rec)
	if err := st.prune(l, MaxRecords); err != nil {
		res.Warnings = append(res.Warnings, "could not prune old transaction records: "+err.Error())
	}
	st.updateSummary(prev, rec, l, facts)
	o.restartList(ctx, toSet, res)
	o.auditApply(res)
	return res, nil
}

// prepare runs under the lock before planning: it lists the state
// directory, removes what killed runs left (temp files of records and of
// the persisted file), and refuses to start over a crashed transaction -
// unless it is this caller's own (RecoverOwnCrash: a reconcile killed
// mid-correction), which is rolled back first. When the summary is current
// (store.current) it is the listing, with no transaction unfinished and
// nothing left by a killed run in tx/, and the directory is not read; sm
// is then that summary.
func (o Options) prepare(st store, res *Result) (l *listing, sm *summary, err error) {
	if l, sm, ok := st.current(); ok {
		sweepPersistTemps(o.PersistDir, o.PersistName)
		return l, sm, nil
	}
	l, err = o.prepareScan(st, res)
	return l, nil, err
}

// prepareScan is prepare from the directory listing.
func (o Options) prepareScan(st store, res *Result) (*listing, error) {
	l, err := st.scan()
	if err != nil {
		return nil, err
	}
	st.sweep(l)
	sweepPersistTemps(o.PersistDir, o.PersistName)
	crashed, corrupt, err := st.crashed(l)
	if err != nil {
		return nil, err
	}
	if len(corrupt) > 0 {
		c := corrupt[0]
		return nil, fmt.Errorf("%w: %w: transaction %s (%s) cannot be read: %s", ErrCrashed, ErrCorruptRecord, c.ID, c.State, c.Error)
	}
	if len(crashed) == 0 {
		return l, nil
	}
	if !o.RecoverOwnCrash || o.Origin == "" {
		return nil, crashedErr(crashed[0])
	}
	for _, r := range crashed {
		if r.Origin != o.Origin || r.State != TxApplying {
			return nil, crashedErr(r)
		}
	}
	if err := o.checkTargets(crashed); err != nil {
		return nil, err
	}
	for i := len(crashed) - 1; i >= 0; i-- {
		r := crashed[i]
		if _, err := o.rollbackOne(st, r); err != nil {
			return nil, fmt.Errorf("recover crashed transaction %s: %w", r.ID, err)
		}
		res.Warnings = append(res.Warnings, fmt.Sprintf("rolled back transaction %s, left unfinished by a %s that died (pid %d)", r.ID, r.Origin, r.PID))
	}
	return st.scan() // the recovered ones changed state
}

func crashedErr(r *Record) error {
	return fmt.Errorf("%w: transaction %s (%s, pid %d, started %s) is %s",
		ErrCrashed, r.ID, strings.Join(r.Profiles, "+"), r.PID, r.Started.Format("2006-01-02 15:04:05"), r.State)
}

// check validates before anything is locked or read: the profile's
// diagnostics and the one-line guarantee of every key and value.
func (o Options) check(r *profiles.Resolved, res *Result) error {
	// The write policy first, whatever Validator is: no replacement of
	// validation may let a refused key through.
	ds := validate.CheckPolicy(r)
	if !validate.HasErrors(ds) {
		ds = o.Validator(r)
	}
	ie := &InvalidError{}
	for _, d := range ds {
		if d.Severity == validate.SevError {
			ie.add(d.Key, d.String(), nil)
		} else if d.Severity == validate.SevWarning {
			res.Warnings = append(res.Warnings, d.String())
		}
	}
	if len(ie.Problems) > 0 {
		return ie
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
	ie := &InvalidError{}
	for _, c := range p.Changes {
		k := c.Key.String()
		switch c.Action {
		case ActionAbsent:
			if !c.AbsentOK {
				ie.add(k, k+": this kernel has no such key", nil)
			}
		case ActionSet:
			if err := wc.Writable(c.Key); err != nil {
				ie.add(k, err.Error(), err)
			}
		}
		if c.Action != ActionAbsent && c.Action != ActionHostWide {
			if err := checkLine(c.Key, c.After); err != nil {
				ie.add(k, err.Error(), err)
			}
		}
	}
	if len(ie.Problems) > 0 {
		return ie
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

// begin records the transaction durably: nothing is written before this
// returns. known and the facts returned are the baseline's as the summary
// keeps them (extendBaseline).
func (o Options) begin(st store, l *listing, plan *Plan, toSet []Change, pp *persistPlan, res *Result, known *baseFacts) (*Record, *baseFacts, error) {
	seq := 1
	if e := l.last(); e != nil {
		seq = e.seq + 1
	}
	if seq > maxSeq {
		return nil, nil, fmt.Errorf("transaction sequence exhausted at %d in %s; move the state directory away", seq-1, st.txDir())
	}
	now := o.Now()
	rec := &Record{
		Format: recordFormat, ID: txIDFor(seq, now), Seq: seq, State: TxApplying,
		Profiles: plan.Profiles, Version: o.Version, PID: os.Getpid(),
		SysctlRoot: o.FS.Root(), Netns: o.Netns.String(), Started: now, Plan: plan,
		Origin: o.Origin, Originals: []Original{},
	}
	if err := o.stamp(rec); err != nil {
		return nil, nil, err
	}
	for _, c := range toSet {
		rec.Originals = append(rec.Originals, Original{Key: c.Key, Value: c.Before, Target: c.After})
		if validate.KeyAllowed(c.Key) != nil { // passed check() under an allow: grant
			rec.Granted = append(rec.Granted, c.Key.String())
		}
	}
	var snap *FileSnapshot
	if pp != nil {
		rec.Persist, snap = pp.snap, pp.snap
	}
	// The baseline first: the record's directory fsync makes both durable,
	// and every record's keys are then in the baseline.
	warn := func(w string) { res.Warnings = append(res.Warnings, w) }
	facts, err := st.extendBaseline(l, toSet, snap, rec.Where, warn, known)
	if err != nil {
		return nil, nil, err
	}
	if err := st.create(rec); err != nil {
		return nil, nil, err
	}
	return rec, facts, nil
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
			return &writeFailure{written: i, err: fmt.Errorf("%w before writing %s: %w", ErrInterrupted, c.Key, context.Cause(ctx))}
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
		return &writeFailure{written: len(toSet), err: fmt.Errorf("%w before persisting: %w", ErrInterrupted, context.Cause(ctx))}
	}
	if pp != nil && pp.snap.Changed {
		// The rename is the commit point of the file: once it happened,
		// an abort must put the old file back even if a later step (the
		// directory fsync) failed.
		renamed, err := writeAtomic(pp.snap.Path, pp.content, 0o644)
		pp.written = renamed
		if err != nil {
			return &writeFailure{written: len(toSet), err: fmt.Errorf("persist: %w", err)}
		}
	}
	t := o.Now()
	rec.Finished = &t
	// The "applied" mark is not fsync'd: if a power loss loses it, the
	// durable record looks crashed and rollback restores the originals.
	if err := (store{dir: o.StateDir}).setState(rec, TxApplied, false); err != nil {
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
	final := TxFailed
	if rerr != nil {
		final = TxRestoreFailed
		rec.Error += "; restore: " + rerr.Error()
	}
	te.Restored, te.RestoreErr = rerr == nil, rerr
	if serr := st.setState(rec, final, true); serr != nil {
		// Every key (and the file) may well be restored; only the record
		// still says "applying", and the next apply will call it crashed.
		te.RecordErr = serr
	}
	return te
}
