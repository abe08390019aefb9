package apply

import (
	"time"

	"github.com/tcptune/tcptune/sysctl"
)

// AuditAction says what an audit entry records.
type AuditAction string

const (
	AuditApply    AuditAction = "apply"    // a transaction wrote the key
	AuditPersist  AuditAction = "persist"  // the key was written to the sysctl.d file
	AuditRollback AuditAction = "rollback" // a rollback restored the key
)

// AuditEntry is one key an apply, its persisted file or a rollback changed.
type AuditEntry struct {
	Time   time.Time
	Action AuditAction
	// Transaction is the transaction applied, or the one the key was
	// restored from.
	Transaction string
	Profiles    []string
	Key         sysctl.Key
	Before      sysctl.Value
	After       sysctl.Value
	Note        string // the persisted file, for AuditPersist
}

// Auditor receives the entries of every committed apply and rollback
// (Options.Auditor); the CLI passes the journal and STATE_DIR/audit.jsonl.
// Its failure is a warning, never a failed apply: the kernel already holds
// the values.
type Auditor interface {
	Audit(entries []AuditEntry) error
}

// auditApply records a committed apply: each key written, and each key of
// the persisted file when it was rewritten.
func (o Options) auditApply(res *Result) {
	if o.Auditor == nil || res.DryRun || res.Failed || !res.Changed {
		return
	}
	now := o.Now()
	var es []AuditEntry
	for _, s := range res.Settings {
		if s.Action == ActionSet {
			es = append(es, AuditEntry{Time: now, Action: AuditApply, Transaction: res.Transaction, Profiles: res.Profiles,
				Key: s.Key, Before: s.Before, After: s.After})
		}
	}
	if p := res.Persisted; p != nil && p.Written {
		for _, s := range res.Settings {
			if s.Action == ActionSet || s.Action == ActionUnchanged || s.Action == ActionSatisfied {
				es = append(es, AuditEntry{Time: now, Action: AuditPersist, Transaction: res.Transaction, Profiles: res.Profiles,
					Key: s.Key, After: s.After, Note: p.File})
			}
		}
	}
	if err := o.audit(es); err != nil {
		res.Warnings = append(res.Warnings, "audit trail: "+err.Error())
	}
}

// auditRollback records the keys a rollback restored from rec.
func (o Options) auditRollback(rec *Record, settings []Setting, res *RollbackResult) {
	if o.Auditor == nil {
		return
	}
	now := o.Now()
	var es []AuditEntry
	for _, s := range settings {
		if s.Action == "restored" {
			es = append(es, AuditEntry{Time: now, Action: AuditRollback, Transaction: rec.ID, Profiles: rec.Profiles,
				Key: s.Key, Before: s.Before, After: s.After})
		}
	}
	if err := o.audit(es); err != nil {
		res.Warnings = append(res.Warnings, "audit trail: "+err.Error())
	}
}

func (o Options) audit(es []AuditEntry) error {
	if len(es) == 0 {
		return nil
	}
	return o.Auditor.Audit(es)
}
