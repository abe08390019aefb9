package apply

import (
	"context"
	"fmt"

	"github.com/tcptune/tcptune/sysctl"
)

// persistPlan is the persisted file an apply will write.
type persistPlan struct {
	snap    *FileSnapshot // the file before; Changed says whether it is rewritten
	content []byte
	written bool // the rename happened: an abort must put the old file back
}

// planPersist computes the owned file after this apply and its precedence
// report, before anything is written, so that StrictPersist can refuse in
// time. It returns nil with NoPersist.
func (o Options) planPersist(p *Plan, res *Result) (*persistPlan, error) {
	if o.NoPersist {
		return nil, nil
	}
	path := o.PersistPath()
	snap, err := snapshot(path)
	if err != nil {
		return nil, err
	}
	var entries []Original
	for _, c := range p.Changes {
		switch c.Action {
		case ActionSet, ActionUnchanged, ActionSatisfied:
			entries = append(entries, Original{Key: c.Key, Target: c.After})
		}
	}
	prev, prevOK := ownedFile{}, false
	if snap.Exists && snap.Symlink == "" {
		prev, prevOK = parseOwned(path, snap.Content)
	}
	if len(entries) == 0 && !prevOK {
		// Nothing to persist (every key host-wide here, say): no
		// header-only file, no transaction for it.
		res.Persisted = &Persisted{File: path, OverriddenBy: []Override{}}
		return nil, nil
	}
	if snap.Exists && !prevOK {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%s exists but was not written by tcptune; it will be replaced (rollback restores it)", path))
	}
	f := merge(prev, prevOK, p.Profiles, entries)
	f.Version, f.Written = o.Version, o.Now()
	content, err := f.render()
	if err != nil {
		return nil, err
	}
	snap.Changed = !snap.Exists || snap.Symlink != "" || body(snap.Content) != body(content) || snap.Mode != 0o644
	bc := o.boot(content)
	warned := map[string]bool{}
	bc.warn = func(msg string) {
		if !warned[msg] {
			warned[msg] = true
			res.Warnings = append(res.Warnings, msg)
		}
	}
	rep, ovr, err := bc.precedenceReport(f.Entries)
	if err != nil {
		return nil, fmt.Errorf("precedence report: %w", err)
	}
	res.Persisted = &Persisted{File: path, Written: snap.Changed, OverriddenBy: []Override{}, Report: rep}
	var strict []string
	for _, ov := range ovr {
		res.Persisted.OverriddenBy = append(res.Persisted.OverriddenBy, ov)
		if ov.SameValue {
			continue
		}
		msg := overrideMsg(ov, path)
		res.Warnings = append(res.Warnings, msg)
		strict = append(strict, msg)
	}
	if o.StrictPersist && len(strict) > 0 {
		return nil, fmt.Errorf("%w: %s; nothing was written", ErrOverridden, strict[0])
	}
	return &persistPlan{snap: snap, content: content}, nil
}

func overrideMsg(ov Override, owned string) string {
	if ov.Winner.Line == 0 {
		return fmt.Sprintf("%s: %s is not read at boot by %s (not in its search path)", ov.Key, owned, ov.Order)
	}
	return fmt.Sprintf("%s: at boot (%s order) %s:%d sets %s = %s, overriding %s", ov.Key, ov.Order,
		ov.Winner.File, ov.Winner.Line, ov.Winner.Key, ov.Winner.Value, owned)
}

// restore writes each original back in reverse order and verifies it by
// reading back. It keeps going after a failure so one stuck key does not
// leave the others changed, and returns every failure.
func restore(io KernelIO, originals []Original) ([]Setting, error) {
	var errs []error
	out := make([]Setting, 0, len(originals))
	for i := len(originals) - 1; i >= 0; i-- {
		o := originals[i]
		s := Setting{Key: o.Key, After: o.Value, Action: "restored"}
		live, err := io.Read(o.Key)
		if err == nil && live == o.Value {
			s.Before, s.Action = live, ActionUnchanged
			out = append(out, s)
			continue
		}
		s.Before = live
		if err := io.Write(o.Key, o.Value); err != nil {
			errs = append(errs, fmt.Errorf("restore %s to %q: %w", o.Key, o.Value, err))
			s.Action = "restore-failed"
			out = append(out, s)
			continue
		}
		got, err := io.Read(o.Key)
		if err != nil || got != o.Value {
			errs = append(errs, fmt.Errorf("restore %s to %q: reads back %q: %v", o.Key, o.Value, got, err))
			s.Action = "restore-failed"
		}
		out = append(out, s)
	}
	return out, joinErrs(errs)
}

// joinErrs joins errors on one line ("a; b"); errors.Is and errors.As see
// each of them.
func joinErrs(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return semicolonErrs(errs)
}

type semicolonErrs []error

func (e semicolonErrs) Error() string {
	msg := e[0].Error()
	for _, x := range e[1:] {
		msg += "; " + x.Error()
	}
	return msg
}

func (e semicolonErrs) Unwrap() []error { return e }

// restartList fills res.Restart when somaxconn was (or would be) raised:
// the kernel fixes a listener's accept-queue limit at listen() time
// (min(backlog, somaxconn), net/socket.c __sys_listen_socket), so existing
// listeners keep the old cap until they listen again.
func (o Options) restartList(ctx context.Context, toSet []Change, res *Result) {
	if o.Listeners == nil {
		return
	}
	somaxconn := sysctl.Known("net.core.somaxconn", "net/core/somaxconn")
	for _, c := range toSet {
		if c.Key != somaxconn {
			continue
		}
		after, err1 := c.After.Ints()
		before, err2 := c.Before.Ints()
		if err1 != nil || err2 != nil || len(after) != 1 || len(before) != 1 || after[0] <= before[0] {
			return
		}
		ls, err := o.Listeners.Listeners(ctx)
		if err != nil {
			res.RestartErr = err.Error()
			return
		}
		var capped []Listener
		for _, l := range ls {
			if int64(l.Backlog) < after[0] {
				capped = append(capped, l)
			}
		}
		if n, ok := o.Listeners.(OwnerNamer); ok && len(capped) > 0 {
			n.NameOwners(ctx, capped) // only these need a name (and their application's backlog)
		}
		for _, l := range capped {
			res.Restart = append(res.Restart, predictRestart(l, before[0], after[0]))
		}
	}
}
