package profiles

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/tcptune/tcptune/sysctl"
)

// ConfFile is one sysctl.conf or sysctl.d file to import.
type ConfFile struct {
	Name string // path, or "-" for standard input
	Data []byte
}

// ImportProblem is a line of a sysctl.d file that did not become a setting.
type ImportProblem struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Key  string `json:"key,omitempty"`
	Msg  string `json:"message"`
}

func (p ImportProblem) String() string {
	if p.Key != "" {
		return fmt.Sprintf("%s:%d: %s: %s", p.File, p.Line, p.Key, p.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
}

// imported is one setting on its way into the profile.
type imported struct {
	key           sysctl.Key
	value         sysctl.Value
	reason        string
	ignoreFailure bool
	file          string
	line          int
}

// Import turns sysctl.conf / sysctl.d files into a profile, read the way
// systemd-sysctl and procps read them: "key = value" lines, '#' and ';'
// comment lines, a leading '-' meaning "ignore a failure", later files and
// lines winning for the same key. The comment lines right above an
// assignment become its reason, and '-' becomes ignore-failure. Globs, keys
// that are not valid names, keys refused by allowed (the write policy) and
// lines that are not assignments are reported, not imported. It returns the
// profile as YAML, in key order, and the problems.
func Import(name, description string, files []ConfFile, allowed func(sysctl.Key) error) ([]byte, []ImportProblem, error) {
	if !ValidName(name) {
		return nil, nil, fmt.Errorf("invalid profile name %q: use lowercase letters, digits, '-', '_' and '.'", name)
	}
	byKey := map[sysctl.Key]imported{}
	var problems []ImportProblem
	var sources []string
	for _, f := range files {
		f.Name = oneLine(f.Name)
		sources = append(sources, f.Name)
		sc := bufio.NewScanner(bytes.NewReader(f.Data))
		sc.Buffer(make([]byte, 0, 64*1024), MaxFileSize)
		var comments []string
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" {
				comments = nil
				continue
			}
			if line[0] == '#' || line[0] == ';' {
				if c := strings.TrimSpace(strings.TrimLeft(line, "#;")); c != "" {
					comments = append(comments, c)
				}
				continue
			}
			reason := strings.Join(comments, " ")
			comments = nil
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				problems = append(problems, ImportProblem{File: f.Name, Line: n, Msg: "not a key = value line; skipped (systemd-sysctl and procps skip it too)"})
				continue
			}
			k = strings.TrimSpace(k)
			im := imported{file: f.Name, line: n, reason: reason}
			if strings.HasPrefix(k, "-") {
				im.ignoreFailure = true
				k = strings.TrimSpace(k[1:])
			}
			if strings.ContainsAny(k, "*?[") {
				problems = append(problems, ImportProblem{File: f.Name, Line: n, Key: k,
					Msg: "a glob is not importable: a profile names each key; write the keys it should match (net.ipv4.conf.all..., net.ipv4.conf.default..., net.ipv4.conf.eth0...)"})
				continue
			}
			key, err := sysctl.ParseKey(k)
			if err != nil {
				problems = append(problems, ImportProblem{File: f.Name, Line: n, Key: k, Msg: "not a valid key; skipped: " + strings.TrimPrefix(err.Error(), fmt.Sprintf("%s %q: ", sysctl.ErrBadKey, k))})
				continue
			}
			if allowed != nil {
				if err := allowed(key); err != nil {
					problems = append(problems, ImportProblem{File: f.Name, Line: n, Key: key.String(),
						Msg: "outside what tcptune writes (net.*, fs.file-max, fs.nr_open); left out: keep it in sysctl.d, or add it with allow: in a root-owned profile"})
					continue
				}
			}
			val, err := sysctl.ParseValue(v)
			if err != nil {
				problems = append(problems, ImportProblem{File: f.Name, Line: n, Key: key.String(), Msg: "value not importable: " + err.Error()})
				continue
			}
			im.key, im.value = key, val
			if old, dup := byKey[key]; dup {
				problems = append(problems, ImportProblem{File: f.Name, Line: n, Key: key.String(),
					Msg: fmt.Sprintf("also set at %s:%d; the later value %q is kept, as at boot", old.file, old.line, string(val))})
			}
			byKey[key] = im
		}
		if err := sc.Err(); err != nil {
			return nil, problems, fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	keys := make([]sysctl.Key, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Compare(keys[j]) < 0 })

	var b strings.Builder
	fmt.Fprintf(&b, "# Imported by 'tcptune import' from %s.\n", strings.Join(sources, ", "))
	fmt.Fprintf(&b, "name: %s\n", name)
	if description == "" {
		description = "Imported from " + strings.Join(sources, ", ")
	}
	fmt.Fprintf(&b, "description: %s\n", quoteYAML(strings.Join(strings.Fields(description), " ")))
	if len(keys) == 0 {
		b.WriteString("settings: {}\n")
	} else {
		b.WriteString("settings:\n")
	}
	for _, k := range keys {
		im := byKey[k]
		fmt.Fprintf(&b, "  %s:  # %s:%d\n", k, im.file, im.line)
		fmt.Fprintf(&b, "    value: %s\n", quoteYAML(string(im.value)))
		if im.reason != "" {
			fmt.Fprintf(&b, "    reason: %s\n", quoteYAML(im.reason))
		}
		if im.ignoreFailure {
			b.WriteString("    ignore-failure: true\n")
		}
	}
	return []byte(b.String()), problems, nil
}

// quoteYAML writes s as a YAML double-quoted scalar (a JSON string is one),
// so that values such as "010" or "yes" stay the text they were.
func quoteYAML(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(buf.String(), "\n")
}

// oneLine drops control characters (a line break in a file name must not
// end a YAML comment early).
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
