package profiles

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tcptune/tcptune/sysctl"
)

// MaxFileSize bounds a profile file; real ones are a few kilobytes.
const MaxFileSize = 1 << 20

// DecodeError is a problem in a profile file, with its position and, where
// there is one, the key it concerns.
type DecodeError struct {
	Pos Pos
	Key string // the sysctl key or schema field, may be empty
	Msg string
}

func (e *DecodeError) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("%s: %s: %s", e.Pos, e.Key, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Pos, e.Msg)
}

// ErrDecode is matched by every *DecodeError through errors.Is.
var ErrDecode = errors.New("invalid profile")

// Is makes errors.Is(err, ErrDecode) true for decode errors.
func (e *DecodeError) Is(target error) bool { return target == ErrDecode }

// ValidName reports whether s is an acceptable profile name:
// [a-z0-9][a-z0-9._+-]*, at most 128 bytes. (Checked by hand: the
// equivalent regexp with {0,127} costs milliseconds to compile at start-up.)
func ValidName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '+' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// Decode parses one profile file strictly. file is used in positions only.
// defaultName is used when the file has no name field (user profiles are
// named after their file); pass "" to require the field.
func Decode(file string, data []byte, origin Origin, defaultName string) (*Profile, error) {
	if len(data) > MaxFileSize {
		return nil, &DecodeError{Pos: Pos{File: file}, Msg: fmt.Sprintf("file is larger than %d bytes", MaxFileSize)}
	}
	d := decoder{file: file}
	if line, ok := looksLikeSysctlConf(data); ok {
		return nil, &DecodeError{Pos: Pos{File: file, Line: line, Column: 1},
			Msg: "this is sysctl.conf syntax (key = value), not a profile; convert it with 'tcptune import " + file + "'"}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &DecodeError{Pos: Pos{File: file}, Msg: "empty profile"}
		}
		return nil, d.yamlErr(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, d.errAt(&extra, "", "more than one YAML document; a profile file holds one")
	} else if !errors.Is(err, io.EOF) {
		return nil, d.yamlErr(err)
	}
	p := &Profile{Origin: origin, File: file}
	if err := d.profile(&doc, p); err != nil {
		return nil, err
	}
	if p.Name == "" {
		p.Name = defaultName
	}
	if p.Name == "" {
		return nil, &DecodeError{Pos: Pos{File: file, Line: 1, Column: 1}, Key: "name", Msg: "missing profile name"}
	}
	for i := range p.Settings {
		p.Settings[i].Profile = p.Name
	}
	return p, nil
}

type decoder struct{ file string }

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{File: d.file, Line: n.Line, Column: n.Column} }

func (d *decoder) errAt(n *yaml.Node, key, format string, args ...any) error {
	return &DecodeError{Pos: d.pos(n), Key: key, Msg: fmt.Sprintf(format, args...)}
}

// yamlErr turns yaml.v3's "yaml: line N: msg" into a position. (Parsed by
// hand: a package-level regexp is compiled at start-up of every run.)
func (d *decoder) yamlErr(err error) error {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "yaml: line "); ok {
		num, text, ok := strings.Cut(rest, ": ")
		if line, err := strconv.Atoi(num); ok && err == nil && line > 0 {
			return &DecodeError{Pos: Pos{File: d.file, Line: line, Column: 1}, Msg: "YAML syntax: " + text}
		}
	}
	return &DecodeError{Pos: Pos{File: d.file}, Msg: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")}
}

// mapping walks a mapping node, rejecting duplicate keys and non-scalar keys.
func (d *decoder) mapping(n *yaml.Node, what string, fn func(k, v *yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return d.errAt(n, what, "must be a mapping, got %s", kindName(n))
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return d.errAt(k, what, "keys must be plain strings")
		}
		if k.Tag == "!!merge" {
			return d.errAt(k, what, "YAML merge keys (<<) are not supported; use extends")
		}
		if line, dup := seen[k.Value]; dup {
			return d.errAt(k, k.Value, "duplicate key (first at line %d)", line)
		}
		seen[k.Value] = k.Line
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) profile(doc *yaml.Node, p *Profile) error {
	root := doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return &DecodeError{Pos: Pos{File: d.file}, Msg: "empty profile"}
		}
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return d.errAt(root, "", "a profile must be a mapping with name, description, extends and settings; got %s", kindName(root))
	}
	return d.mapping(root, "profile", func(k, v *yaml.Node) error {
		switch k.Value {
		case "name":
			s, err := d.str(v, "name")
			if err != nil {
				return err
			}
			if !ValidName(s) {
				return d.errAt(v, "name", "invalid profile name %q: use lowercase letters, digits, '-', '_' and '.'", s)
			}
			p.Name = s
		case "description":
			s, err := d.str(v, "description")
			if err != nil {
				return err
			}
			if strings.ContainsAny(s, "\n\r\x00") {
				return d.errAt(v, "description", "must be one line")
			}
			p.Description = s
		case "extends":
			ext, err := d.extends(v)
			if err != nil {
				return err
			}
			p.Extends = ext
		case "settings":
			return d.settings(v, p)
		case "allow":
			al, err := d.allow(v)
			if err != nil {
				return err
			}
			p.Allow = al
		default:
			return d.errAt(k, k.Value, "unknown field; a profile has name, description, extends, allow and settings")
		}
		return nil
	})
}

func (d *decoder) str(v *yaml.Node, field string) (string, error) {
	if v.Kind != yaml.ScalarNode || (v.Tag != "!!str" && v.Tag != "!!null") {
		return "", d.errAt(v, field, "must be a string, got %s", kindName(v))
	}
	return v.Value, nil
}

func (d *decoder) extends(v *yaml.Node) ([]string, error) {
	var items []*yaml.Node
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			return nil, nil
		}
		items = []*yaml.Node{v}
	case yaml.SequenceNode:
		items = v.Content
	default:
		return nil, d.errAt(v, "extends", "must be a list of profile names, got %s", kindName(v))
	}
	var out []string
	for _, it := range items {
		s, err := d.str(it, "extends")
		if err != nil {
			return nil, err
		}
		if !ValidName(s) {
			return nil, d.errAt(it, "extends", "invalid profile name %q", s)
		}
		out = append(out, s)
	}
	return out, nil
}

// allow decodes the allow: list: dotted keys or prefixes ending in ".*".
func (d *decoder) allow(v *yaml.Node) ([]Allow, error) {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return nil, nil
	}
	if v.Kind != yaml.SequenceNode {
		return nil, d.errAt(v, "allow", "must be a list of keys (kernel.core_pattern) or prefixes (vm.*), got %s", kindName(v))
	}
	var out []Allow
	for _, it := range v.Content {
		s, err := d.str(it, "allow")
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(s, ".*")
		if s == "*" || name == "" {
			return nil, d.errAt(it, "allow", "%q would allow every key; name the keys or a prefix such as vm.*", s)
		}
		if _, err := sysctl.ParseKey(name); err != nil {
			return nil, d.errAt(it, "allow", "%q is not a key or a prefix ending in .*", s)
		}
		out = append(out, Allow{Pattern: s, Pos: d.pos(it)})
	}
	return out, nil
}

// looksLikeSysctlConf reports whether data reads as sysctl.conf lines
// ("key = value", comments with # or ;) rather than YAML, and the first
// assignment's line, so that the error can point to `tcptune import`.
func looksLikeSysctlConf(data []byte) (int, bool) {
	first := 0
	for i, line := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '#' || t[0] == ';' {
			continue
		}
		k, _, ok := strings.Cut(t, "=")
		k = strings.TrimSpace(strings.TrimPrefix(k, "-"))
		if !ok || k == "" || strings.ContainsAny(k, ": \t\"'{}[],") {
			return 0, false
		}
		if first == 0 {
			first = i + 1
		}
	}
	return first, first > 0
}

func (d *decoder) settings(v *yaml.Node, p *Profile) error {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return nil
	}
	seen := map[sysctl.Key]int{}
	return d.mapping(v, "settings", func(k, val *yaml.Node) error {
		key, err := sysctl.ParseKey(k.Value)
		if err != nil {
			return d.errAt(k, fmt.Sprintf("%q", k.Value), "%s", strings.TrimPrefix(err.Error(), fmt.Sprintf("%s %q: ", sysctl.ErrBadKey, k.Value)))
		}
		// net.ipv4.tcp_rmem and net/ipv4/tcp_rmem are one key.
		if line, dup := seen[key]; dup {
			return d.errAt(k, key.String(), "duplicate key (first at line %d)", line)
		}
		seen[key] = k.Line
		s := Setting{Key: key, Op: OpExact, Pos: d.pos(k)}
		if err := d.setting(key, val, &s); err != nil {
			return err
		}
		p.Settings = append(p.Settings, s)
		return nil
	})
}

func (d *decoder) setting(key sysctl.Key, v *yaml.Node, s *Setting) error {
	name := key.String()
	switch v.Kind {
	case yaml.ScalarNode, yaml.SequenceNode:
		val, err := d.value(name, v)
		if err != nil {
			return err
		}
		s.Value, s.ValuePos = val, d.pos(v)
		return nil
	case yaml.MappingNode:
	default:
		return d.errAt(v, name, "must be a value or a mapping with value, op and reason; got %s", kindName(v))
	}
	var haveValue bool
	err := d.mapping(v, name, func(fk, fv *yaml.Node) error {
		switch fk.Value {
		case "value":
			val, err := d.value(name, fv)
			if err != nil {
				return err
			}
			s.Value, s.ValuePos, haveValue = val, d.pos(fv), true
		case "op":
			str, err := d.str(fv, name+": op")
			if err != nil {
				return err
			}
			op := Op(str)
			if !op.Valid() {
				return d.errAt(fv, name, "unknown op %q; use one of exact, at-least, at-most", str)
			}
			s.Op = op
		case "reason":
			str, err := d.str(fv, name+": reason")
			if err != nil {
				return err
			}
			if strings.ContainsAny(str, "\x00") {
				return d.errAt(fv, name, "reason contains a NUL byte")
			}
			s.Reason = strings.Join(strings.Fields(str), " ")
		case "ignore-failure":
			if fv.Kind != yaml.ScalarNode || fv.Tag != "!!bool" {
				return d.errAt(fv, name, "ignore-failure must be true or false, got %s", kindName(fv))
			}
			if err := fv.Decode(&s.IgnoreFailure); err != nil {
				return d.errAt(fv, name, "ignore-failure must be true or false")
			}
		default:
			return d.errAt(fk, name, "unknown field %q; a setting has value, op, reason and ignore-failure", fk.Value)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !haveValue {
		return d.errAt(v, name, "setting has no value")
	}
	return nil
}

// value turns a scalar or a sequence of scalars into a sysctl value.
func (d *decoder) value(name string, v *yaml.Node) (sysctl.Value, error) {
	var parts []string
	var nodes []*yaml.Node
	switch v.Kind {
	case yaml.ScalarNode:
		nodes = []*yaml.Node{v}
	case yaml.SequenceNode:
		if len(v.Content) == 0 {
			return "", d.errAt(v, name, "empty list as value")
		}
		nodes = v.Content
	default:
		return "", d.errAt(v, name, "value must be a number, a string or a list of numbers; got %s", kindName(v))
	}
	for _, n := range nodes {
		if n.Kind != yaml.ScalarNode {
			return "", d.errAt(n, name, "value must be a number, a string or a list of numbers; got %s", kindName(n))
		}
		switch n.Tag {
		case "!!int", "!!str":
		case "!!bool":
			return "", d.errAt(n, name, "boolean %q is not a sysctl value; write 1 or 0", n.Value)
		case "!!float":
			return "", d.errAt(n, name, "%q is not an integer; sysctls take whole numbers", n.Value)
		case "!!null":
			return "", d.errAt(n, name, "value is empty")
		default:
			return "", d.errAt(n, name, "unsupported value type %s", n.Tag)
		}
		text := n.Value
		if n.Tag == "!!int" && leadingZero(n.Value) {
			// yaml.v3 reads 010 as octal 8, as the kernel does; a reader
			// of the profile would take it for 10. Say which is meant.
			var i int64
			_ = n.Decode(&i)
			return "", d.errAt(n, name, "%s has a leading zero, which YAML and the kernel read as octal (%d); write %d, or drop the leading zero", n.Value, i, i)
		}
		if n.Tag == "!!int" {
			// YAML allows 0x10, 0o17, 1_000: give the kernel plain decimal.
			var i int64
			if err := n.Decode(&i); err != nil {
				return "", d.errAt(n, name, "%q is out of range for a 64-bit integer", n.Value)
			}
			text = fmt.Sprint(i)
		}
		parts = append(parts, text)
	}
	val, err := sysctl.ParseValue(strings.Join(parts, " "))
	if err != nil {
		return "", d.errAt(v, name, "%s", strings.TrimPrefix(err.Error(), sysctl.ErrBadValue.Error()+" "))
	}
	return val, nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!int":
			return "an integer"
		case "!!bool":
			return "a boolean"
		case "!!float":
			return "a float"
		case "!!null":
			return "nothing"
		}
		return "a string"
	}
	return "an unknown node"
}

// leadingZero reports an integer literal such as 010 or -007: digits after a
// leading 0 (not 0x, 0o or 0 alone).
func leadingZero(lit string) bool {
	lit = strings.TrimLeft(lit, "+-")
	return len(lit) > 1 && lit[0] == '0' && lit[1] >= '0' && lit[1] <= '9'
}
