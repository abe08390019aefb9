package profiles

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcptune/tcptune/sysctl"
)

func TestDecode(t *testing.T) {
	src := `name: web
description: web tier
extends: [high-concurrency]
settings:
  net.core.somaxconn: 8192
  net/ipv4/tcp_rmem:
    value: [4096, 0x20000, 6291456]
    op: at-least
    reason: "  bigger   buffers "
  net.ipv4.conf.eth0/100.forwarding: "1"
`
	p, err := Decode("web.yaml", []byte(src), OriginFile, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []Setting{
		{Key: sysctl.MustKey("net.core.somaxconn"), Value: "8192", Op: OpExact, Profile: "web",
			Pos: Pos{"web.yaml", 5, 3}, ValuePos: Pos{"web.yaml", 5, 23}},
		{Key: sysctl.MustKey("net.ipv4.tcp_rmem"), Value: "4096 131072 6291456", Op: OpAtLeast, Reason: "bigger buffers", Profile: "web",
			Pos: Pos{"web.yaml", 6, 3}, ValuePos: Pos{"web.yaml", 7, 12}},
		{Key: sysctl.MustKey("net/ipv4/conf/eth0.100/forwarding"), Value: "1", Op: OpExact, Profile: "web",
			Pos: Pos{"web.yaml", 10, 3}, ValuePos: Pos{"web.yaml", 10, 38}},
	}
	if diff := cmp.Diff(want, p.Settings, cmp.Comparer(func(a, b sysctl.Key) bool { return a == b })); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
	if p.Name != "web" || p.Description != "web tier" || !cmp.Equal(p.Extends, []string{"high-concurrency"}) {
		t.Errorf("header = %q %q %v", p.Name, p.Description, p.Extends)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      string // substring of the error, which always starts with file:line:col
	}{
		{"unknown field", "name: x\nsetings: {}\n", "p.yaml:2:1: setings: unknown field"},
		{"unknown setting field", "name: x\nsettings:\n  net.core.somaxconn:\n    value: 1\n    opp: at-least\n", `p.yaml:5:5: net.core.somaxconn: unknown field "opp"`},
		{"duplicate key", "name: x\nsettings:\n  net.core.somaxconn: 1\n  net.core.somaxconn: 2\n", "p.yaml:4:3: net.core.somaxconn: duplicate key (first at line 3)"},
		{"duplicate key in two spellings", "name: x\nsettings:\n  net.core.somaxconn: 1\n  net/core/somaxconn: 2\n", "p.yaml:4:3: net.core.somaxconn: duplicate key (first at line 3)"},
		{"duplicate top field", "name: x\nname: y\n", "p.yaml:2:1: name: duplicate key"},
		{"traversal key", "name: x\nsettings:\n  net/../../etc/passwd: 1\n", `p.yaml:3:3: "net/../../etc/passwd"`},
		{"absolute key", "name: x\nsettings:\n  /etc/shadow: 1\n", `p.yaml:3:3: "/etc/shadow": absolute`},
		{"newline in key", "name: x\nsettings:\n  \"net.core.somaxconn\\n\": 1\n", `p.yaml:3:3: "net.core.somaxconn\n": contains a line break`},
		{"newline in value", "name: x\nsettings:\n  net.core.somaxconn: \"1\\n2\"\n", "p.yaml:3:23: net.core.somaxconn: \"1\\n2\": contains a line break"},
		{"NUL in value", "name: x\nsettings:\n  net.core.somaxconn: \"1\\0\"\n", "net.core.somaxconn: \"1\\x00\": contains a NUL"},
		{"bool value", "name: x\nsettings:\n  net.ipv4.tcp_syncookies: true\n", "p.yaml:3:28: net.ipv4.tcp_syncookies: boolean \"true\" is not a sysctl value; write 1 or 0"},
		{"float value", "name: x\nsettings:\n  net.core.somaxconn: 1.5\n", "net.core.somaxconn: \"1.5\" is not an integer"},
		{"mapping value", "name: x\nsettings:\n  net.core.somaxconn:\n    value: {a: 1}\n", "p.yaml:4:12: net.core.somaxconn: value must be"},
		{"no value", "name: x\nsettings:\n  net.core.somaxconn:\n    op: at-least\n", "p.yaml:4:5: net.core.somaxconn: setting has no value"},
		{"bad op", "name: x\nsettings:\n  net.core.somaxconn:\n    value: 1\n    op: raise\n", `p.yaml:5:9: net.core.somaxconn: unknown op "raise"`},
		{"settings not a map", "name: x\nsettings: [1]\n", "p.yaml:2:11: settings: must be a mapping"},
		{"not a mapping", "- a\n", "p.yaml:1:1: a profile must be a mapping"},
		{"bad name", "name: Bad Name\n", `p.yaml:1:7: name: invalid profile name "Bad Name"`},
		{"name wrong type", "name: [x]\n", "p.yaml:1:7: name: must be a string"},
		{"syntax", "name: x\nsettings:\n  a: [\n", "p.yaml:"},
		{"empty", "", "p.yaml: empty profile"},
		{"two documents", "name: x\n---\nname: y\n", "more than one YAML document"},
		{"extends not list", "name: x\nextends: {a: b}\n", "p.yaml:2:10: extends: must be a list"},
		{"out of range int", "name: x\nsettings:\n  net.core.somaxconn: 99999999999999999999\n", "not an integer"},
		{"alias", "name: x\nbase: &b 1\n", "p.yaml:2:1: base: unknown field"},
		{"merge key", "name: x\nsettings:\n  <<: {a: 1}\n", "merge keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode("p.yaml", []byte(tt.src), OriginFile, "")
			if err == nil {
				t.Fatalf("no error; want %q", tt.want)
			}
			if !errors.Is(err, ErrDecode) {
				t.Errorf("error %v is not ErrDecode", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error\n  %q\ndoes not contain\n  %q", err, tt.want)
			}
		})
	}
}

func TestDecodeDefaultName(t *testing.T) {
	p, err := Decode("/etc/tcptune/profiles.d/edge.yaml", []byte("settings:\n  net.core.somaxconn: 1\n"), OriginUser, "edge")
	if err != nil || p.Name != "edge" || p.Settings[0].Profile != "edge" {
		t.Fatalf("got %+v, %v", p, err)
	}
	if _, err := Decode("x.yaml", []byte("settings: {}\n"), OriginUser, ""); err == nil || !strings.Contains(err.Error(), "missing profile name") {
		t.Errorf("no name: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, b := range []string{"name: a\nsettings:\n  net.core.somaxconn: 1\n",
		"name: b\nextends: [a]\nsettings:\n  net.ipv4.tcp_rmem: {value: [1, 2, 3], op: at-least, reason: r}\n",
		"settings:\n  \"x\\ny\": 1\n", "name: c\nsettings:\n  a.b: \"1 2\"\n"} {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Decode("f.yaml", data, OriginFile, "fuzz")
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error of wrong type %T: %v", err, err)
			}
			return
		}
		if !ValidName(p.Name) {
			t.Fatalf("invalid name accepted: %q", p.Name)
		}
		for _, s := range p.Settings {
			if _, err := sysctl.ParseKey(s.Key.String()); err != nil {
				t.Fatalf("accepted key %q does not reparse: %v", s.Key, err)
			}
			if strings.ContainsAny(string(s.Value), "\n\r\x00") || s.Value == "" {
				t.Fatalf("accepted value %q", s.Value)
			}
			if !s.Op.Valid() {
				t.Fatalf("invalid op %q", s.Op)
			}
		}
	})
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"high-concurrency": true, "a": true, "web.v2": true, "a+b": true, "x_1": true,
		"": false, "-a": false, ".a": false, "Web": false, "a b": false, "a/b": false, "é": false,
		strings.Repeat("a", 128): true, strings.Repeat("a", 129): false,
	} {
		if got := ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
	}
}
