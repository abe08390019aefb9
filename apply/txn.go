package apply

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/renameio/v2"

	"github.com/tcptune/tcptune/sysctl"
)

// TxState is where a transaction stands.
type TxState string

const (
	// TxApplying: recorded, writes may have started. Found without a live
	// lock holder, it means the process died mid-apply: a crashed
	// transaction.
	TxApplying TxState = "applying"
	// TxApplied: every write verified (and the file persisted).
	TxApplied TxState = "applied"
	// TxFailed: the apply failed and every written key was restored.
	TxFailed TxState = "failed"
	// TxRolledBack: a later `tcptune rollback` restored the originals.
	TxRolledBack TxState = "rolled-back"
	// TxRestoreFailed: a restore could not be verified; still open.
	TxRestoreFailed TxState = "restore-failed"
	// TxResolved: an admin declared a crashed transaction settled without
	// restoring (`tcptune rollback --resolve`).
	TxResolved TxState = "resolved"
)

// Open reports whether the transaction's originals may still need
// restoring: it is in effect (applied) or unfinished.
func (s TxState) Open() bool { return s == TxApplying || s == TxApplied || s == TxRestoreFailed }

// recordFormat is bumped on an incompatible change of Record.
const recordFormat = 1

// Original is one key's value before the transaction, in write order.
type Original struct {
	Key   sysctl.Key   `json:"key"`
	Value sysctl.Value `json:"value"`
	// Target is what the transaction writes.
	Target sysctl.Value `json:"target"`
}

// FileSnapshot is the persisted file as it was before the transaction.
type FileSnapshot struct {
	Path   string `json:"path"`
	Exists bool   `json:"exists"`
	// Symlink is the link target when the path was a symlink (tcptune
	// replaces the link, never writes through it, and rollback puts it back).
	Symlink string      `json:"symlink,omitempty"`
	Content []byte      `json:"content,omitempty"` // base64 in JSON
	Mode    fs.FileMode `json:"mode,omitempty"`
	// Changed is true when the transaction (re)wrote the file.
	Changed bool `json:"changed"`
}

// Record is one transaction, stored as StateDir/tx/<id>.json.
type Record struct {
	Format     int        `json:"format"`
	ID         string     `json:"id"`
	Seq        int        `json:"seq"`
	State      TxState    `json:"state"`
	Profiles   []string   `json:"profiles"`
	Version    string     `json:"version,omitempty"`
	PID        int        `json:"pid"`
	SysctlRoot string     `json:"sysctl_root"`
	Netns      string     `json:"netns"`
	Started    time.Time  `json:"started"`
	Finished   *time.Time `json:"finished,omitempty"`
	Plan       *Plan      `json:"plan"`
	// Originals are the keys the transaction writes, in write order.
	Originals []Original    `json:"originals"`
	Persist   *FileSnapshot `json:"persist,omitempty"`
	Error     string        `json:"error,omitempty"`
	// History lists state changes after the first, for status.
	History []string `json:"history,omitempty"`
	// Where identifies the namespace and sysctl root the transaction was
	// applied to; rollback refuses another target (target.go).
	Where *Where `json:"where,omitempty"`
}

// store is the state directory.
type store struct{ dir string }

func (s store) txDir() string         { return filepath.Join(s.dir, "tx") }
func (s store) path(id string) string { return filepath.Join(s.txDir(), id+".json") }
func (s store) lockPath() string      { return filepath.Join(s.dir, "lock") }
func (s store) ensure() error         { return os.MkdirAll(s.txDir(), 0o755) }
func txIDFor(seq int, t time.Time) string {
	return fmt.Sprintf("%06d-%s", seq, t.UTC().Format("20060102T150405Z"))
}

// save writes r atomically and durably: temp file, fsync, rename, fsync the
// directory. After save returns, a crash cannot lose r.
func (s store) save(r *Record) error {
	if err := s.ensure(); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if err := renameio.WriteFile(s.path(r.ID), b, 0o644); err != nil {
		return fmt.Errorf("record transaction %s: %w", r.ID, err)
	}
	if err := syncDir(s.txDir()); err != nil {
		return fmt.Errorf("record transaction %s: %w", r.ID, err)
	}
	return nil
}

// saveLazy replaces r atomically (temp file, rename) without fsync. It is
// for the "applied" mark only: if a crash loses it, the durable "applying"
// record remains, the next run reports a crashed transaction and rollback
// restores the originals — the safe direction. Skipping these two fsyncs
// halves the cost of an apply on slow disks.
func (s store) saveLazy(r *Record) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(s.txDir(), "."+r.ID+".tmp*")
	if err != nil {
		return fmt.Errorf("record transaction %s: %w", r.ID, err)
	}
	_, werr := f.Write(append(b, '\n'))
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("record transaction %s: %w", r.ID, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("record transaction %s: %w", r.ID, err)
	}
	if err := os.Rename(f.Name(), s.path(r.ID)); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("record transaction %s: %w", r.ID, err)
	}
	return nil
}

// load reads and checks one record; every key and value is re-validated, as
// the file is input like any other.
func (s store) load(id string) (*Record, error) {
	if !validTxID(id) {
		return nil, fmt.Errorf("invalid transaction id %q", id)
	}
	b, err := os.ReadFile(s.path(id))
	if err != nil {
		return nil, fmt.Errorf("read transaction %s: %w", id, err)
	}
	return parseRecord(s.path(id), b)
}

func parseRecord(path string, b []byte) (*Record, error) {
	var r Record
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: corrupt transaction record: %w", path, err)
	}
	if r.Format != recordFormat {
		return nil, fmt.Errorf("%s: transaction record format %d, this tcptune reads %d", path, r.Format, recordFormat)
	}
	for _, o := range r.Originals {
		if o.Key.IsZero() {
			return nil, fmt.Errorf("%s: original without a key", path)
		}
		if _, err := sysctl.ParseValue(string(o.Value)); err != nil {
			return nil, fmt.Errorf("%s: original of %s: %w", path, o.Key, err)
		}
	}
	return &r, nil
}

// list returns every record, oldest first. A corrupt record is an error:
// silently skipping it could hide the originals of a crashed apply.
func (s store) list() ([]*Record, error) {
	entries, err := os.ReadDir(s.txDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state directory: %w", err)
	}
	var out []*Record
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") || !validTxID(strings.TrimSuffix(name, ".json")) {
			continue // renameio temp files and strangers
		}
		r, err := s.load(strings.TrimSuffix(name, ".json"))
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out, nil
}

// MaxRecords bounds the transaction records kept in the state directory:
// every apply (and every reconcile correction) adds one, and each apply
// reads them all. Older records are deleted after a successful apply, so
// 'rollback --to' reaches back at most this many transactions. A record of a
// crashed or failed-to-restore transaction is never deleted.
const MaxRecords = 50

// prune deletes the oldest records beyond keep (recs oldest first), except
// crashed ones, then fsyncs the directory.
func (s store) prune(recs []*Record, keep int) error {
	if len(recs) <= keep {
		return nil
	}
	var errs []error
	for _, r := range recs[:len(recs)-keep] {
		if r.State == TxApplying || r.State == TxRestoreFailed {
			continue
		}
		if err := os.Remove(s.path(r.ID)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := syncDir(s.txDir()); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func validTxID(id string) bool {
	if len(id) < 8 || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c == '-') {
			return false
		}
	}
	return true
}

// syncDir fsyncs a directory so a rename in it survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}
