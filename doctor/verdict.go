package doctor

// Results of a report. "unknown" is not "healthy": a source the doctor
// needs could not be read, so it cannot say that nothing is wrong.
const (
	ResultHealthy  = "healthy"
	ResultFindings = "findings"
	ResultUnknown  = "unknown"
)

// listenersNotRead is the Unavailable reason when listeners were skipped on
// purpose (a proc tree other than the live one): the caller chose not to
// read them, so the report is not unknown for it.
const listenersNotRead = "not read (a proc tree other than the live one)"

// result decides a report's result: findings win (they are actionable
// whatever else could not be read); without findings, any source that
// could not be read makes the result unknown.
func result(r *Report) string {
	if len(r.Findings) > 0 {
		return ResultFindings
	}
	for _, u := range r.Unavailable {
		if u.Source == "listeners" && u.Reason == listenersNotRead {
			continue
		}
		return ResultUnknown
	}
	return ResultHealthy
}

// allResult decides doctor --all-netns: findings in any namespace win
// (actionable whatever else could not be read); otherwise a namespace whose
// report is unknown, or one that could not be read at all (couldNotTell),
// makes the whole unknown; otherwise healthy.
func allResult(ns []NetnsReport, couldNotTell bool) string {
	unknown := couldNotTell
	for _, n := range ns {
		switch n.Report.Result {
		case ResultFindings:
			return ResultFindings
		case ResultHealthy:
		default:
			unknown = true
		}
	}
	if unknown {
		return ResultUnknown
	}
	return ResultHealthy
}
