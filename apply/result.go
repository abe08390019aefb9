package apply

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tcptune/tcptune/sysctl"
)

// Errors Apply and Rollback wrap; match them with errors.Is.
var (
	// ErrLocked: another apply, rollback or persist holds the lock.
	ErrLocked = errors.New("another tcptune apply or rollback is running")
	// ErrCrashed: a transaction was left half-done by a process that died;
	// it must be rolled back (or resolved) before the next apply.
	ErrCrashed = errors.New("a crashed transaction must be rolled back first")
	// ErrInvalid: the profile failed validation, or a key is absent or not
	// writable here; nothing was written.
	ErrInvalid = errors.New("profile cannot be applied here")
	// ErrReadBack: the kernel accepted a write but reads back another value.
	ErrReadBack = errors.New("kernel kept a different value")
	// ErrOverridden: with StrictPersist, another sysctl.d file overrides the
	// persisted file at boot.
	ErrOverridden = errors.New("persisted value is overridden at boot")
	// ErrInterrupted: the context was cancelled (SIGINT/SIGTERM in the
	// CLI) while waiting for the lock or before a write.
	ErrInterrupted = errors.New("interrupted")
	// ErrNoTransaction: nothing to roll back.
	ErrNoTransaction = errors.New("no transaction to roll back")
	// ErrRestore: a rollback could not restore every original; the
	// transaction stays open and status reports it.
	ErrRestore = errors.New("rollback incomplete")
	// ErrNotRecorded: a rollback restored every key but could not record
	// itself in the last-writer table (writers.go).
	ErrNotRecorded = errors.New("rollback not recorded")
)

// Setting is the outcome for one key, in the stable JSON shape.
type Setting struct {
	Key    sysctl.Key   `json:"key"`
	Before sysctl.Value `json:"before"`
	After  sysctl.Value `json:"after"`
	Action Action       `json:"action"`
	Note   string       `json:"note,omitempty"`
	// Transaction is the transaction a rollback restored this key from.
	Transaction string `json:"transaction,omitempty"`
}

// Assignment is one "key = value" line of a sysctl.d file.
type Assignment struct {
	Key   string       `json:"key"` // as written; may be a glob
	Value sysctl.Value `json:"value"`
	File  string       `json:"file"`
	Line  int          `json:"line"`
	// IgnoreFailure is the "-key" form: a failed write is not an error.
	IgnoreFailure bool `json:"ignore_failure,omitempty"`
}

// Override says that at boot, under Order ("systemd" or "procps"), the
// assignment Winner beats tcptune's persisted value of Key.
type Override struct {
	Key    sysctl.Key `json:"key"`
	Order  string     `json:"order"`
	Winner Assignment `json:"winner"`
	// SameValue: the winner sets the value tcptune persists, so boot ends
	// the same; still reported, as removing tcptune would not change it.
	SameValue bool `json:"same_value"`
}

// Persisted describes the owned sysctl.d file after an apply.
type Persisted struct {
	File string `json:"file"`
	// Written is false when the file already held these settings (or with
	// DryRun, where it says what would be written).
	Written      bool       `json:"written"`
	OverriddenBy []Override `json:"overridden_by"`
	// Report is the full precedence report for the persisted keys.
	Report []Precedence `json:"report,omitempty"`
}

// RestartEntry is a listener whose accept queue stays below the new
// somaxconn until its program listens again.
type RestartEntry struct {
	Listener
	// NewLimit is the new somaxconn: the most a restart can give.
	NewLimit uint32 `json:"new_limit"`
	// PredictedLimit is the limit the listener gets when it listens again,
	// min(its application's backlog, the new somaxconn); null when the
	// application's backlog is unknown.
	PredictedLimit *uint32 `json:"predicted_limit"`
	// Prediction says how PredictedLimit was found, or that it depends on
	// the application.
	Prediction string `json:"prediction"`
	// AppFix is the application-side change a restart alone does not make.
	AppFix string `json:"app_fix,omitempty"`
}

// Result is what Apply did, in the stable JSON shape documented in
// .notes/apply.md.
type Result struct {
	Changed     bool      `json:"changed"`
	Failed      bool      `json:"failed"`
	DryRun      bool      `json:"dry_run"`
	Transaction string    `json:"transaction"`
	Profiles    []string  `json:"profiles"`
	Settings    []Setting `json:"settings"`
	// Persisted is nil with NoPersist.
	Persisted *Persisted `json:"persisted"`
	// PersistSkipped says why nothing was persisted by default here (a
	// namespace whose boot would not read the file); "" otherwise.
	PersistSkipped string `json:"persist_skipped,omitempty"`
	// Restart lists listeners to restart or reconfigure; RestartErr says why
	// the list could not be made (it is then not "nothing to restart").
	Restart    []RestartEntry `json:"restart"`
	RestartErr string         `json:"restart_error,omitempty"`
	Warnings   []string       `json:"warnings"`
	Plan       *Plan          `json:"-"`
}

// InvalidError is a profile that cannot be applied here, with every
// problem (a validation diagnostic, an absent or read-only key) one per
// entry; nothing was written. It matches ErrInvalid and each underlying
// error (sysctl.ErrReadOnly, ...). The CLI prints the problems one per line
// (Details) and the error on one line.
type InvalidError struct {
	Problems []string
	keys     []string
	errs     []error
}

func (e *InvalidError) add(key, problem string, err error) {
	e.Problems = append(e.Problems, problem)
	if key != "" && !slices.Contains(e.keys, key) {
		e.keys = append(e.keys, key)
	}
	if err != nil {
		e.errs = append(e.errs, err)
	}
}

func (e *InvalidError) Error() string {
	if len(e.Problems) == 1 {
		return fmt.Sprintf("%v: %s; nothing was written", ErrInvalid, e.Problems[0])
	}
	return fmt.Sprintf("%v: %d problems (%s); nothing was written", ErrInvalid, len(e.Problems), strings.Join(e.keys, ", "))
}

// Details are the problems, one per line, when there are several (one is
// in the error line itself).
func (e *InvalidError) Details() []string {
	if len(e.Problems) < 2 {
		return nil
	}
	return e.Problems
}

func (e *InvalidError) Unwrap() []error { return append([]error{ErrInvalid}, e.errs...) }

// TxError is a failed transaction: which key, what the kernel said, and
// whether every written key was restored.
type TxError struct {
	Transaction string
	Key         sysctl.Key // zero when the failure is not about one key
	Err         error
	// Restored is true when every key already written was put back and
	// verified; false leaves the transaction open for `tcptune rollback`.
	Restored   bool
	RestoreErr error
	// RecordErr: the transaction's final state could not be recorded (a
	// full disk); the restore itself is told by Restored.
	RecordErr error
}

func (e *TxError) Error() string {
	what := "apply failed"
	if !e.Key.IsZero() {
		what = "apply failed at " + e.Key.String()
	}
	if e.Restored && e.RecordErr != nil {
		return fmt.Sprintf("%s: %v; every key written was restored, but the record could not be updated (%v): transaction %s will show as crashed until 'tcptune rollback' (harmless, the values are back) or 'tcptune rollback --resolve'", what, e.Err, e.RecordErr, e.Transaction)
	}
	if e.Restored {
		return fmt.Sprintf("%s: %v; every key written was restored (transaction %s rolled back)", what, e.Err, e.Transaction)
	}
	return fmt.Sprintf("%s: %v; RESTORE INCOMPLETE: %v (transaction %s left open)", what, e.Err, e.RestoreErr, e.Transaction)
}

// Hint says what to do when the restore or its record did not finish; ""
// when both did (the failure itself says what went wrong).
func (e *TxError) Hint() string {
	if e.Restored && e.RecordErr != nil {
		return fmt.Sprintf("free space in --state-dir, then 'tcptune rollback --resolve --to %s'", e.Transaction)
	}
	if e.Restored {
		return ""
	}
	return fmt.Sprintf("run 'tcptune rollback --to %s' to retry the restore", e.Transaction)
}

func (e *TxError) Unwrap() []error {
	if e.RestoreErr != nil {
		return []error{e.Err, ErrRestore}
	}
	return []error{e.Err}
}
