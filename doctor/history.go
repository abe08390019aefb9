package doctor

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tcptune/tcptune/apply"
	"github.com/tcptune/tcptune/sysctl"
)

// History is what tcptune itself changed (its transaction records in the
// state directory), read to judge counters against the values in force
// when they were counted.
type History struct {
	// StateDir is where the records were read.
	StateDir string
	// Since is the start of the window the counters cover: boot for the
	// since-boot view (zero when the boot time could not be read: every
	// recorded change may then be inside it), the first reading otherwise.
	Since time.Time
	// Changes are the changes at or after Since, oldest first.
	Changes []apply.KeyChange
	// Err: the state directory exists but could not be read.
	Err error
	// Corrupt counts records that could not be decoded.
	Corrupt int
}

// historySource is the Unavailable source of an unreadable state directory.
const historySource = "tcptune history"

// ReadHistory reads the changes tcptune recorded in stateDir at or after
// since. Read only: a state directory that does not exist is no history,
// one that cannot be read is recorded in Err (the report is then unknown
// rather than healthy).
func ReadHistory(stateDir string, since time.Time) *History {
	h := &History{StateDir: stateDir, Since: since}
	ch, err := apply.KeyChanges(stateDir, since)
	if err != nil {
		h.Err = err
		return h
	}
	h.Changes, h.Corrupt = ch.Changes, len(ch.Corrupt)
	return h
}

// BootTime reads btime from procRoot/stat (seconds since the epoch).
func BootTime(procRoot string) (time.Time, error) {
	f, err := os.Open(filepath.Join(procRoot, "stat"))
	if err != nil {
		return time.Time{}, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "btime "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil || n <= 0 {
				return time.Time{}, fmt.Errorf("%s: bad btime %q", f.Name(), v)
			}
			return time.Unix(n, 0), nil
		}
	}
	if err := sc.Err(); err != nil {
		return time.Time{}, err
	}
	return time.Time{}, fmt.Errorf("%s: no btime line", f.Name())
}

// attachHistory reads stateDir's history for w: since boot for the
// since-boot view, since the first reading otherwise.
func attachHistory(w *Window, procRoot, stateDir string) {
	if stateDir == "" {
		return
	}
	var since time.Time
	if w.Before != nil {
		since = w.Before.Time
	} else if bt, err := BootTime(procRoot); err == nil {
		since = bt
	}
	w.History = ReadHistory(stateDir, since)
}

// judgeHistory keeps counters from being explained by values that were not
// in force when they were counted: a finding resting on counters whose
// keys tcptune changed inside the window says that the counts mix both
// settings (when, from what, to what), no longer blames the current value
// (warning, not critical), and points to a measurement of the values in
// force now.
func judgeHistory(w *Window, r *Report) {
	h := w.History
	if h == nil {
		return
	}
	if h.Err != nil {
		if errors.Is(h.Err, fs.ErrNotExist) { // vanished between the checks: no history
			return
		}
		r.Unavailable = append(r.Unavailable, Unavailable{Source: historySource, Reason: h.Err.Error() + " (what tcptune changed, and when, is unknown)"})
		return
	}
	if h.Corrupt > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d transaction record(s) in %s could not be read: changes they made are not taken into account (tcptune status names them)", h.Corrupt, h.StateDir))
	}
	if len(h.Changes) == 0 {
		return
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		if !countsCounters(f) {
			continue
		}
		keys := findingKeys(f)
		var mixed []apply.KeyChange
		for _, c := range h.Changes {
			if slices.Contains(keys, c.Key.String()) {
				mixed = append(mixed, c)
			}
		}
		if len(mixed) == 0 {
			continue
		}
		f.ChangedDuring = mixed
		var parts []string
		for _, c := range mixed {
			parts = append(parts, fmt.Sprintf("%s from %s to %s at %s (%s, transaction %s)",
				c.Key, c.From, c.To, c.Time.UTC().Format(time.RFC3339), c.Action, c.Transaction))
		}
		window := "since boot"
		measure := "run 'tcptune doctor --interval 30s' (two readings) while the load is on to judge the values in force now"
		if !w.SinceBoot() {
			window = "over the interval"
			measure = "run 'tcptune doctor' again to judge the values in force now"
		} else if h.Since.IsZero() {
			window = "since boot (the boot time could not be read, so the change may be inside it)"
		}
		f.Summary += "; tcptune changed " + mixedKeys(mixed) + " " + window + ": the count spans both settings"
		f.Explanation = fmt.Sprintf("tcptune changed %s: the counters %s mix the settings before and after, so they do not "+
			"show that the current value is at fault; %s. What follows explains the counters with the values in force now. ",
			strings.Join(parts, "; "), window, measure) + f.Explanation
		if f.Severity == Critical {
			f.Severity = Warning
		}
	}
}

// countsCounters: the finding rests on counters (evidence with a reading),
// not only on current values.
func countsCounters(f *Finding) bool {
	return slices.ContainsFunc(f.Evidence, func(e Evidence) bool { return e.After != nil })
}

// findingKeys are the sysctls a finding's fix names or its evidence shows.
func findingKeys(f *Finding) []string {
	var ks []string
	for _, k := range f.Fix.Keys {
		ks = append(ks, k.Key)
	}
	for _, e := range f.Evidence {
		if _, err := sysctl.ParseKey(e.Name); err == nil && e.After == nil {
			ks = append(ks, e.Name)
		}
	}
	return ks
}

func mixedKeys(cs []apply.KeyChange) string {
	var ks []string
	for _, c := range cs {
		if s := c.Key.String(); !slices.Contains(ks, s) {
			ks = append(ks, s)
		}
	}
	return strings.Join(ks, ", ")
}
