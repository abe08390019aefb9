package systemd

import (
	"errors"
	"fmt"

	"github.com/coreos/go-systemd/v22/journal"
)

// Journal sends audit records to journald over its native protocol
// (go-systemd's journal package, /run/systemd/journal/socket).
type Journal struct {
	send    func(message string, p journal.Priority, vars map[string]string) error
	enabled func() bool
}

// NewJournal returns a Journal that talks to the local journald.
func NewJournal() *Journal {
	return &Journal{send: journal.Send, enabled: journal.Enabled}
}

// Available reports whether journald accepts datagrams here. On hosts and
// containers without journald it is false and Send is never attempted.
func (j *Journal) Available() bool { return j != nil && j.enabled() }

// Send writes one entry per record. Drift is a warning, changes a notice.
func (j *Journal) Send(recs ...Record) error {
	var errs []error
	for _, r := range recs {
		p := journal.PriNotice
		if r.Action == ActionDrift {
			p = journal.PriWarning
		}
		if err := j.send(r.Message(), p, r.Fields()); err != nil {
			errs = append(errs, fmt.Errorf("send %s record for %s to the journal: %w", r.Action, r.Key, err))
		}
	}
	return errors.Join(errs...)
}

// Auditor records every changed key: in the journal when journald is there,
// and always in the audit file (when File is set), which is what
// `tcptune status` reads on hosts without journald.
type Auditor struct {
	Journal *Journal // nil: no journal
	File    string   // "": no file
}

// NewAuditor returns an Auditor writing to the local journal (when present)
// and to file.
func NewAuditor(file string) *Auditor {
	return &Auditor{Journal: NewJournal(), File: file}
}

// Record writes recs to every sink. A failing sink does not stop the
// others; the error names each failure. Callers treat it as a warning: the
// kernel has already changed, and an audit failure must not undo that.
func (a *Auditor) Record(recs ...Record) error {
	if a == nil || len(recs) == 0 {
		return nil
	}
	var errs []error
	if a.File != "" {
		if err := AppendAudit(a.File, recs); err != nil {
			errs = append(errs, err)
		}
	}
	if a.Journal.Available() {
		if err := a.Journal.Send(recs...); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
