package reconcile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/google/renameio/v2"
	"golang.org/x/sys/unix"

	"github.com/tcptune/tcptune/internal/safefile"
)

// maxStateSize bounds what is read of reconcile.json.
const maxStateSize = 4 << 20

// alive reports whether pid is a live process (kill(pid, 0); EPERM means
// it exists but belongs to another user).
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := unix.Kill(pid, 0)
	return err == nil || err == unix.EPERM
}

// StateFileName is the reconcile state's name inside the state directory.
const StateFileName = "reconcile.json"

// Mode says what the loop does about drift.
type Mode string

const (
	// ModeEnforce re-applies drifted keys through apply's transaction.
	ModeEnforce Mode = "enforce"
	// ModeReport only records drift (journal, status, textfile).
	ModeReport Mode = "report"
)

// ParseMode accepts enforce or report.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case ModeEnforce, ModeReport:
		return Mode(s), nil
	}
	return "", fmt.Errorf("unknown reconcile mode %q (allowed: enforce, report)", s)
}

// DriftedKey is a key whose live value is not what the profile wants.
type DriftedKey struct {
	Key     string `json:"key"`
	Profile string `json:"profile"`
	// Desired is the value apply would write; Live is what the kernel has.
	Desired string `json:"desired"`
	Live    string `json:"live"`
	// Since is the first check that saw this key drifted (with this live
	// value).
	Since time.Time `json:"since"`
}

// ReleasedKey is a drifted key enforce mode leaves alone because another
// tcptune writer took it over: a rollback, or an apply of another value.
type ReleasedKey struct {
	Key     string `json:"key"`
	Profile string `json:"profile"`
	Desired string `json:"desired"`
	Live    string `json:"live"`
	// By is "rollback", "apply" or "reconcile" (another loop); Transaction
	// and At are that write's.
	By          string    `json:"by"`
	Transaction string    `json:"transaction"`
	At          time.Time `json:"at"`
	Note        string    `json:"note"`
}

// Correction is one key the loop put back.
type Correction struct {
	Time        time.Time `json:"time"`
	Transaction string    `json:"transaction"`
	Key         string    `json:"key"`
	Before      string    `json:"before"`
	After       string    `json:"after"`
}

// State is what a running (or stopped) reconcile loop reports, stored as
// StateDir/reconcile.json and shown by `tcptune status`. The JSON names are
// stable.
type State struct {
	Profiles []string  `json:"profiles"`
	Mode     Mode      `json:"mode"`
	Interval string    `json:"interval"`
	PID      int       `json:"pid"`
	Started  time.Time `json:"started"`
	// Running is false once the loop stopped cleanly; a State saying
	// running whose LastCheck is much older than Interval belongs to a
	// process that died.
	Running bool `json:"running"`
	// Died: the state said running but its process is gone (killed without
	// stopping cleanly); Running is then reported false.
	Died      bool       `json:"died,omitempty"`
	Stopped   *time.Time `json:"stopped,omitempty"`
	LastCheck *time.Time `json:"last_check,omitempty"`
	Checks    uint64     `json:"checks"`
	// Drifted are the keys out of profile after the last check: in report
	// mode every drifted key, in enforce mode those the correction could
	// not fix.
	Drifted []DriftedKey `json:"drifted"`
	// DriftDetections counts key drifts seen (a key drifting twice counts
	// twice); Corrections counts keys put back.
	// Released are drifted keys enforce mode does not correct: their last
	// tcptune writer was a rollback, or an apply of a value the profile
	// disagrees with (see split in loop.go).
	Released        []ReleasedKey `json:"released"`
	DriftDetections uint64        `json:"drift_detections"`
	Corrections     uint64        `json:"corrections"`
	Errors          uint64        `json:"errors"`
	// LastCorrections are the most recent corrections, newest last.
	LastCorrections []Correction `json:"last_corrections"`
	LastError       string       `json:"last_error,omitempty"`
}

// maxKeptCorrections bounds LastCorrections.
const maxKeptCorrections = 20

// WriteState replaces path atomically.
func WriteState(path string, s *State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := renameio.WriteFile(path, append(b, '\n'), 0o644, renameio.WithTempDir(filepath.Dir(path))); err != nil {
		return fmt.Errorf("write reconcile state: %w", err)
	}
	return nil
}

// LoadState reads the reconcile state of stateDir; (nil, nil) when no
// reconcile loop ever ran there.
func LoadState(stateDir string) (*State, error) {
	p := filepath.Join(stateDir, StateFileName)
	b, err := safefile.ReadFile(p, maxStateSize, safefile.NoFollow)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read reconcile state: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("reconcile state %s is corrupt: %w", p, err)
	}
	if s.Released == nil { // written by a tcptune before writers coordinated
		s.Released = []ReleasedKey{}
	}
	if s.Running && !alive(s.PID) {
		// Killed without a word (SIGKILL, OOM, power loss): not running.
		s.Running, s.Died = false, true
	}
	return &s, nil
}

// Stale reports whether s claims to be running but has not checked for
// three intervals: its process died without saying so.
func (s *State) Stale(now time.Time) bool {
	if !s.Running {
		return false
	}
	iv, err := time.ParseDuration(s.Interval)
	if err != nil || s.LastCheck == nil {
		return false
	}
	return now.Sub(*s.LastCheck) > 3*iv+5*time.Second
}
