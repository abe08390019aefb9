package apply

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

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
	bl, _, err := s.readBaseline()
	if err != nil {
		return nil, err
	}
	return validBaseline(s.baselinePath(), bl)
}

// readBaseline decodes the baseline without validating its keys (apply
// only extends it; what is restored from it is validated then), with the
// file's status as read (nil: there is none).
func (s store) readBaseline() (*Baseline, *unix.Stat_t, error) {
	f, err := safefile.Open(s.baselinePath(), safefile.NoFollow)
	if errors.Is(err, fs.ErrNotExist) {
		return &Baseline{Format: recordFormat}, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: baseline: %w", errCorrupt, err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, nil, fmt.Errorf("baseline: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxRecordSize+1))
	if err == nil && len(b) > maxRecordSize {
		err = safefile.ErrTooLarge
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", errCorrupt, s.baselinePath(), err)
	}
	var bl Baseline
	if err := json.Unmarshal(b, &bl); err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", errCorrupt, s.baselinePath(), err)
	}
	if bl.Format != recordFormat {
		return nil, nil, fmt.Errorf("%w: %s: format %d", errCorrupt, s.baselinePath(), bl.Format)
	}
	return &bl, &st, nil
}

// baseFacts is what apply needs of the baseline, kept in the summary so
// that apply does not decode it while it is unchanged: the file's size and
// mtime when tcptune last read or wrote it, whether it holds a target and
// a persisted-file snapshot, and its keys. Used only from a current
// summary (this boot), and only while the file still has that size and
// mtime; anything else decodes the baseline.
type baseFacts struct {
	size           int64
	mtime          unix.Timespec
	where, persist bool
	keys           []string
}

func factsOf(bl *Baseline, st *unix.Stat_t) *baseFacts {
	if st == nil {
		return nil
	}
	f := &baseFacts{size: st.Size, mtime: st.Mtim, where: bl.Where != nil, persist: bl.Persist != nil}
	for _, k := range bl.Keys {
		f.keys = append(f.keys, k.Key.String())
	}
	return f
}

// encode is the summary's K line body: size, mtime seconds and
// nanoseconds, where and persist as 0 or 1, then the keys.
func (f *baseFacts) encode() string {
	var b strings.Builder
	b.WriteString(strconv.FormatInt(f.size, 10) + " " + strconv.FormatInt(f.mtime.Sec, 10) + " " + strconv.FormatInt(f.mtime.Nsec, 10))
	for _, flag := range []bool{f.where, f.persist} {
		if flag {
			b.WriteString(" 1")
		} else {
			b.WriteString(" 0")
		}
	}
	for _, k := range f.keys {
		b.WriteString(" " + k)
	}
	return b.String()
}

// parseBaseFacts reads a K line body; nil when it is not one.
func parseBaseFacts(line string) *baseFacts {
	w := strings.Fields(line)
	if len(w) < 5 {
		return nil
	}
	size, err1 := strconv.ParseInt(w[0], 10, 64)
	sec, err2 := strconv.ParseInt(w[1], 10, 64)
	nsec, err3 := strconv.ParseInt(w[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || (w[3] != "0" && w[3] != "1") || (w[4] != "0" && w[4] != "1") {
		return nil
	}
	return &baseFacts{size: size, mtime: unix.Timespec{Sec: sec, Nsec: nsec}, where: w[3] == "1", persist: w[4] == "1", keys: w[5:]}
}

// covers reports whether the baseline f describes needs nothing from this
// transaction, and the file is still the one f describes: then apply
// leaves it alone without decoding it.
func (s store) covers(f *baseFacts, toSet []Change, snap *FileSnapshot, where *Where) bool {
	if f == nil || (where != nil && !f.where) || (snap != nil && snap.Changed && !f.persist) {
		return false
	}
	for _, c := range toSet {
		if !slices.Contains(f.keys, c.Key.String()) {
			return false
		}
	}
	var st unix.Stat_t
	return unix.Lstat(s.baselinePath(), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG &&
		st.Size == f.size && st.Mtim == f.mtime
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
//
// known is what a current summary says of the baseline: when it covers
// toSet and the file is unchanged, nothing is read. The facts returned are
// the baseline's after the call, for the next summary (nil: unknown).
func (s store) extendBaseline(l *listing, toSet []Change, snap *FileSnapshot, where *Where, warn func(string), known *baseFacts) (*baseFacts, error) {
	if s.covers(known, toSet, snap, where) {
		return known, nil
	}
	bl, st, err := s.readBaseline()
	rebuilt := false
	if errors.Is(err, errCorrupt) {
		aside := s.baselinePath() + ".corrupt"
		if rerr := os.Rename(s.baselinePath(), aside); rerr != nil {
			return nil, fmt.Errorf("%w; and it cannot be moved aside: %w", err, rerr)
		}
		bl = s.rebuildBaseline(l)
		warn(fmt.Sprintf("%v; moved to %s and rebuilt from the %d records kept", err, aside, l.count()))
		err, rebuilt = nil, true
	}
	if err != nil {
		return nil, err
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
		return factsOf(bl, st), nil
	}
	if err := s.writeBaseline(bl); err != nil {
		return nil, err
	}
	var now unix.Stat_t
	if unix.Lstat(s.baselinePath(), &now) != nil {
		return nil, nil
	}
	return factsOf(bl, &now), nil
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
