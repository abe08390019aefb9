package apply

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tcptune/tcptune/internal/safefile"
	"github.com/tcptune/tcptune/validate"
)

// Baseline is the original value of every key tcptune ever changed (the
// value before the first transaction that wrote it) and the persisted file
// as it was before tcptune first replaced it. Pruning never touches it, so
// 'tcptune rollback --baseline' reaches back past every deleted record, and
// it is the way out when a record is corrupt: every record's keys are in
// the baseline before the record is written.
type Baseline struct {
	Format int `json:"format"`
	// Keys in the order they were first changed; Target = Value.
	Keys    []Original    `json:"keys"`
	Persist *FileSnapshot `json:"persist,omitempty"`
	// Where is the target of the first transaction (target.go):
	// 'rollback --baseline' refuses another one.
	Where *Where `json:"where,omitempty"`
	// Granted: as in a Record, the keys written under an allow: grant.
	Granted []string `json:"granted,omitempty"`
}

const baselineName = "baseline.json"

func (s store) baselinePath() string { return filepath.Join(s.txDir(), baselineName) }

// loadBaseline reads the baseline; an absent one is empty. It is validated
// like a record before anything is written from it.
func (s store) loadBaseline() (*Baseline, error) {
	bl, err := s.readBaseline()
	if err != nil {
		return nil, err
	}
	return validBaseline(s.baselinePath(), bl)
}

// readBaseline decodes the baseline without validating its keys (apply
// only extends it; what is restored from it is validated then).
func (s store) readBaseline() (*Baseline, error) {
	b, err := safefile.ReadFile(s.baselinePath(), maxRecordSize, safefile.NoFollow)
	if errors.Is(err, fs.ErrNotExist) {
		return &Baseline{Format: recordFormat}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: baseline: %w", errCorrupt, err)
	}
	var bl Baseline
	if err := json.Unmarshal(b, &bl); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errCorrupt, s.baselinePath(), err)
	}
	if bl.Format != recordFormat {
		return nil, fmt.Errorf("%w: %s: format %d", errCorrupt, s.baselinePath(), bl.Format)
	}
	return &bl, nil
}

func validBaseline(path string, bl *Baseline) (*Baseline, error) {
	// The same checks as a record's originals.
	r := Record{Format: recordFormat, ID: "000000-19700101T000000Z", State: TxApplying, Originals: bl.Keys, Persist: bl.Persist, Granted: bl.Granted}
	if _, err := parseRecordValue(path, &r); err != nil {
		return nil, err
	}
	return bl, nil
}

// extendBaseline adds the keys of toSet that the baseline lacks (with their
// live value now, before this transaction writes them) and the persisted
// file's snapshot if tcptune never replaced it before. It writes only when
// something was added (the first transaction touching a key): temp file,
// fsync, rename; the record's directory fsync that follows makes the
// rename durable before the first write.
//
// A baseline that cannot be read (tampered, or not a regular file) does not
// block apply: it is moved aside to baseline.json.corrupt and rebuilt from
// the records still there (their originals, oldest first), with a warning.
func (s store) extendBaseline(l *listing, toSet []Change, snap *FileSnapshot, where *Where, warn func(string)) error {
	bl, err := s.readBaseline()
	rebuilt := false
	if errors.Is(err, errCorrupt) {
		aside := s.baselinePath() + ".corrupt"
		if rerr := os.Rename(s.baselinePath(), aside); rerr != nil {
			return fmt.Errorf("%w; and it cannot be moved aside: %w", err, rerr)
		}
		bl = s.rebuildBaseline(l)
		warn(fmt.Sprintf("%v; moved to %s and rebuilt from the %d records kept", err, aside, l.count()))
		err, rebuilt = nil, true
	}
	if err != nil {
		return err
	}
	have := make(map[string]bool, len(bl.Keys))
	for _, k := range bl.Keys {
		have[k.Key.String()] = true
	}
	grew := rebuilt
	if bl.Where == nil && where != nil {
		bl.Where, grew = where, true
	}
	for _, c := range toSet {
		if !have[c.Key.String()] {
			have[c.Key.String()] = true
			bl.Keys = append(bl.Keys, Original{Key: c.Key, Value: c.Before, Target: c.Before})
			if validate.KeyAllowed(c.Key) != nil {
				bl.Granted = append(bl.Granted, c.Key.String())
			}
			grew = true
		}
	}
	if bl.Persist == nil && snap != nil && snap.Changed {
		cp := *snap
		bl.Persist, grew = &cp, true
	}
	if !grew {
		return nil
	}
	return s.writeBaseline(bl)
}

// writeBaseline replaces the baseline: temp file, fsync, rename (the
// record's directory fsync follows).
func (s store) writeBaseline(bl *Baseline) error {
	b, err := json.MarshalIndent(bl, "", "  ")
	if err != nil {
		return err
	}
	if err := s.ensure(); err != nil {
		return err
	}
	if _, err := writeDurable(s.baselinePath(), append(b, '\n')); err != nil {
		return fmt.Errorf("record baseline: %w", err)
	}
	return nil
}

// rebuildBaseline collects, oldest record first, the first original of
// each key and the first persisted-file snapshot; unreadable records are
// skipped.
func (s store) rebuildBaseline(l *listing) *Baseline {
	bl := &Baseline{Format: recordFormat}
	have := map[string]bool{}
	recs, _, _ := s.loadAll(l.all())
	for _, r := range recs {
		for _, o := range r.Originals {
			if !have[o.Key.String()] {
				have[o.Key.String()] = true
				bl.Keys = append(bl.Keys, Original{Key: o.Key, Value: o.Value, Target: o.Value})
				if validate.KeyAllowed(o.Key) != nil { // honoured when r was read
					bl.Granted = append(bl.Granted, o.Key.String())
				}
			}
		}
		if bl.Persist == nil && r.Persist != nil && r.Persist.Changed {
			cp := *r.Persist
			bl.Persist = &cp
		}
	}
	return bl
}
