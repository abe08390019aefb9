package cli

import (
	"bytes"
	"encoding/csv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/pflag"
)

// listFlag is a string-list flag that behaves like pflag's StringSlice
// (split: "--profile-dir a,b", CSV quoting) or StringArray (each use one
// value), the first use replacing the default. It exists for its String:
// pflag computes every flag's default text when the flag is defined, and
// its slice flags do it with a CSV writer and its 4 KiB buffer, on every run
// of tcptune. Here the common case is a join; only a value that needs CSV
// quoting takes pflag's way, so help and docs print the same text.
type listFlag struct {
	p       *[]string
	split   bool
	changed bool
}

func newListFlag(p *[]string, def []string, split bool) *listFlag {
	*p = def
	return &listFlag{p: p, split: split}
}

func (l *listFlag) Set(val string) error {
	v := []string{val}
	if l.split {
		if val == "" {
			v = []string{}
		} else {
			r, err := csv.NewReader(strings.NewReader(val)).Read()
			if err != nil {
				return err
			}
			v = r
		}
	}
	if !l.changed {
		*l.p = v
	} else {
		*l.p = append(*l.p, v...)
	}
	l.changed = true
	return nil
}

func (l *listFlag) Type() string {
	if l.split {
		return "stringSlice"
	}
	return "stringArray"
}

func (l *listFlag) String() string {
	for _, v := range *l.p {
		if csvNeedsQuotes(v) {
			var b bytes.Buffer
			w := csv.NewWriter(&b)
			_ = w.Write(*l.p) // a bytes.Buffer does not fail
			w.Flush()
			return "[" + strings.TrimSuffix(b.String(), "\n") + "]"
		}
	}
	return "[" + strings.Join(*l.p, ",") + "]"
}

// csvNeedsQuotes is encoding/csv's rule for a field with Comma ','.
func csvNeedsQuotes(f string) bool {
	if f == "" {
		return false
	}
	if f == `\.` || strings.ContainsAny(f, ",\"\r\n") {
		return true
	}
	r, _ := utf8.DecodeRuneInString(f)
	return unicode.IsSpace(r)
}

// stringListVar defines a listFlag on fs (StringSliceVar or, !split,
// StringArrayVar).
func stringListVar(fs *pflag.FlagSet, p *[]string, name, short string, def []string, split bool, usage string) {
	fs.VarP(newListFlag(p, def, split), name, short, usage)
	if len(def) == 0 {
		// pflag knows only its own types' empty default ("[]"); "" is the
		// empty default it knows for any type, so help prints none.
		fs.Lookup(name).DefValue = ""
	}
}
