package lab

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The README region `make lab` rewrites (tcptune lab all --readme FILE).
// Each marker must be alone on its line, so a marker quoted in prose or in
// a code span is never taken for the real one.
const (
	ReadmeBegin = "<!-- lab-results:begin -->"
	ReadmeEnd   = "<!-- lab-results:end -->"
)

// ErrMarkers is wrapped by every complaint about the README markers.
var ErrMarkers = errors.New("lab-results markers")

// markerRegion returns the byte offsets just after the begin marker's line
// and at the start of the end marker's line. Both markers must appear
// exactly once, on lines of their own, begin before end.
func markerRegion(doc []byte) (start, end int, err error) {
	beginAt, endAt := -1, -1
	beginLine, endLine := 0, 0
	off := 0
	for i, line := range bytes.SplitAfter(doc, []byte("\n")) {
		switch strings.TrimSpace(string(line)) {
		case ReadmeBegin:
			if beginAt >= 0 {
				return 0, 0, fmt.Errorf("%w: %s appears twice (lines %d and %d)", ErrMarkers, ReadmeBegin, beginLine, i+1)
			}
			beginAt, beginLine = off+len(line), i+1
		case ReadmeEnd:
			if endAt >= 0 {
				return 0, 0, fmt.Errorf("%w: %s appears twice (lines %d and %d)", ErrMarkers, ReadmeEnd, endLine, i+1)
			}
			endAt, endLine = off, i+1
		}
		off += len(line)
	}
	switch {
	case beginAt < 0 && endAt < 0:
		return 0, 0, fmt.Errorf("%w: neither %s nor %s is on a line of its own", ErrMarkers, ReadmeBegin, ReadmeEnd)
	case beginAt < 0:
		return 0, 0, fmt.Errorf("%w: no line %s (the end marker is on line %d)", ErrMarkers, ReadmeBegin, endLine)
	case endAt < 0:
		return 0, 0, fmt.Errorf("%w: no line %s (the begin marker is on line %d)", ErrMarkers, ReadmeEnd, beginLine)
	case endLine < beginLine:
		return 0, 0, fmt.Errorf("%w: %s (line %d) comes before %s (line %d)", ErrMarkers, ReadmeEnd, endLine, ReadmeBegin, beginLine)
	}
	return beginAt, endAt, nil
}

// CheckMarkers reports whether doc has a well-formed marker region, so a
// caller can refuse before spending minutes on the labs.
func CheckMarkers(doc []byte) error {
	_, _, err := markerRegion(doc)
	return err
}

// ReplaceMarked returns doc with the lines between the markers replaced by
// body; the markers and everything outside them are kept byte for byte.
func ReplaceMarked(doc []byte, body string) ([]byte, error) {
	start, end, err := markerRegion(doc)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Write(doc[:start])
	if body = strings.TrimRight(body, "\n"); body != "" {
		out.WriteString(body)
		out.WriteByte('\n')
	}
	out.Write(doc[end:])
	return out.Bytes(), nil
}

// ReadmeWithSummary returns doc with the marker region holding the summary
// of reps.
func ReadmeWithSummary(doc []byte, reps []*Report) ([]byte, error) {
	var b strings.Builder
	if err := WriteSummary(&b, reps); err != nil {
		return nil, err
	}
	return ReplaceMarked(doc, b.String())
}

// WriteSummary prints the short README table: one row per scenario with
// its headline metric before and after, then when, where and how often it
// was measured. Everything comes from reps.
func WriteSummary(w io.Writer, reps []*Report) error {
	fmt.Fprintf(w, "| scenario | profile | before | after |\n|---|---|---|---|\n")
	for _, r := range reps {
		if r.Skipped != "" {
			fmt.Fprintf(w, "| %s | - | skipped: %s | - |\n", r.Scenario, r.Skipped)
			continue
		}
		fmt.Fprintf(w, "| %s | `%s` | %s | %s |\n", r.Scenario, r.Profile,
			headline(r.Scenario, &r.Before), headline(r.Scenario, &r.After))
	}
	date, kernel, runs := "unknown date", KernelRelease(), 0
	for _, r := range reps {
		if r.Skipped == "" {
			date, kernel, runs = r.Date.Format("2006-01-02 15:04 MST"), r.Kernel, len(r.Runs)
			break
		}
	}
	_, err := fmt.Fprintf(w, "\nMeasured %s, kernel %s, %d run(s) per scenario (`make lab`).\n", date, kernel, runs)
	return err
}

// headline is the one number that tells a scenario's story; the full table
// with the counters is in docs/lab-results.md.
func headline(scenario string, p *Phase) string {
	switch scenario {
	case "burst-resets", "burst-resets-nginx":
		return fmt.Sprintf("%d resets of %d, %d ok", p.Reset, p.Attempts, p.OK)
	case "port-exhaustion":
		return fmt.Sprintf("%d EADDRNOTAVAIL of %d, %d ok", p.AddrNotAvail, p.Attempts, p.OK)
	case "syn-flood":
		return fmt.Sprintf("%d of %d legitimate connects ok", p.OK, p.Attempts)
	case "slow-failure":
		return timeToError(p)
	case "keepalive-race":
		return fmt.Sprintf("%d of %d lost to the race (reset or EOF), %d ok", p.Reset+p.EOF, p.Attempts, p.OK)
	case "upstream-keepalive":
		return fmt.Sprintf("%d of %d failed (502), %d ok", p.Attempts-p.OK, p.Attempts, p.OK)
	}
	return fmt.Sprintf("%d of %d ok", p.OK, p.Attempts)
}

// timeToError says how long failing clients waited for their error, and
// how many had not failed when the bound ran out (Pending is not a failure).
func timeToError(p *Phase) string {
	var parts []string
	if failed := p.Attempts - p.OK - p.Pending; failed > 0 && p.FailP50Ms != nil {
		s := fmt.Sprintf("%d of %d failed after %s", failed, p.Attempts, duration(*p.FailP50Ms))
		if p.FailMaxMs != nil && duration(*p.FailMaxMs) != duration(*p.FailP50Ms) {
			s = fmt.Sprintf("%d of %d failed after %s (p50; max %s)", failed, p.Attempts,
				duration(*p.FailP50Ms), duration(*p.FailMaxMs))
		}
		parts = append(parts, s)
	}
	if p.Pending > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d not failed by the %s bound", p.Pending, p.Attempts, duration(float64(p.BoundMs))))
	}
	if p.OK > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d ok", p.OK, p.Attempts))
	}
	if len(parts) == 0 {
		return "no attempts"
	}
	return strings.Join(parts, "; ")
}

// duration prints milliseconds as seconds from 1 s up, one decimal, none
// when it is zero ("30 s", "19.6 s").
func duration(ms float64) string {
	unit := " ms"
	if ms >= 1000 {
		ms, unit = ms/1000, " s"
	}
	return strings.TrimSuffix(strconv.FormatFloat(ms, 'f', 1, 64), ".0") + unit
}
