package systemd

import (
	"fmt"
	"time"
)

// Action says what produced an audit record.
type Action string

const (
	ActionApply    Action = "apply"    // tcptune apply wrote the key
	ActionRollback Action = "rollback" // a rollback restored the key
	ActionPersist  Action = "persist"  // the key was written to sysctl.d
	// ActionReconcile: the reconcile loop found the key drifted and
	// re-applied it (enforce mode).
	ActionReconcile Action = "reconcile"
	// ActionDrift: the reconcile loop found the key drifted and only
	// reported it (report mode). Before is the profile's value, After the
	// live one someone else wrote.
	ActionDrift Action = "drift"
)

// MessageID marks tcptune's audit entries in the journal
// (`journalctl MESSAGE_ID=...`); a fixed random 128-bit id as
// systemd.journal-fields(7) asks for.
const MessageID = "6f0c5b1e2a8d4c7b9e3f1a2b4c6d8e0f"

// Record is one changed key. Its JSON form is what the audit file holds and
// what `tcptune status -o json` shows; the field names are stable.
type Record struct {
	Time   time.Time `json:"time"`
	Action Action    `json:"action"`
	// Transaction ties together the records of one apply, rollback or
	// reconcile pass; empty when there was none (persist alone, drift).
	Transaction string `json:"transaction,omitempty"`
	Profile     string `json:"profile,omitempty"`
	Key         string `json:"key"`
	Before      string `json:"before"`
	After       string `json:"after"`
	// Actor is who ran tcptune: the sudo user, the login user, or the
	// systemd unit; journald adds its own trusted _UID/_COMM/_SYSTEMD_UNIT.
	Actor string `json:"actor,omitempty"`
	// Note carries context, e.g. the persisted file for ActionPersist.
	Note string `json:"note,omitempty"`
}

// Message is the human line journalctl shows for r.
func (r Record) Message() string {
	var s string
	switch r.Action {
	case ActionDrift:
		s = fmt.Sprintf("tcptune: %s drifted: profile wants %q, live is %q", r.Key, r.Before, r.After)
	case ActionPersist:
		s = fmt.Sprintf("tcptune persist: %s = %q", r.Key, r.After)
	default:
		s = fmt.Sprintf("tcptune %s: %s %q -> %q", r.Action, r.Key, r.Before, r.After)
	}
	if r.Profile != "" {
		s += " (profile " + r.Profile + ")"
	}
	return s
}

// Fields returns the journal fields of r, without MESSAGE and PRIORITY
// (the sender adds those). Empty values are left out so that
// `journalctl TCPTUNE_TRANSACTION=` does not match unrelated entries.
func (r Record) Fields() map[string]string {
	f := map[string]string{
		"SYSLOG_IDENTIFIER":   "tcptune",
		"MESSAGE_ID":          MessageID,
		"TCPTUNE_ACTION":      string(r.Action),
		"TCPTUNE_KEY":         r.Key,
		"TCPTUNE_BEFORE":      r.Before,
		"TCPTUNE_AFTER":       r.After,
		"TCPTUNE_PROFILE":     r.Profile,
		"TCPTUNE_TRANSACTION": r.Transaction,
		"TCPTUNE_ACTOR":       r.Actor,
		"TCPTUNE_NOTE":        r.Note,
	}
	if !r.Time.IsZero() {
		// journald stamps its own receive time; this is when tcptune acted,
		// which differs for records flushed after a long transaction.
		f["TCPTUNE_TIME"] = r.Time.UTC().Format(time.RFC3339Nano)
	}
	for k, v := range f {
		if v == "" {
			delete(f, k)
		}
	}
	return f
}
