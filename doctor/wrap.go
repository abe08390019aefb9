package doctor

// Wrap folds s into lines of at most width, each starting with indent: the
// doctor's text layout, shared with the reset tracer's report.
func Wrap(s string, width int, indent string) string { return wrap(s, width, indent) }
