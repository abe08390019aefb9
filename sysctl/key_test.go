package sysctl

import (
	"errors"
	"strings"
	"testing"
)

func TestParseKey(t *testing.T) {
	tests := []struct {
		in, name, path string
	}{
		{"net.core.somaxconn", "net.core.somaxconn", "net/core/somaxconn"},
		{"net/core/somaxconn", "net.core.somaxconn", "net/core/somaxconn"},
		{"net.ipv4.tcp_rmem", "net.ipv4.tcp_rmem", "net/ipv4/tcp_rmem"},
		// systemd's rule: first separator '.', so '/' stands for a dot in a component.
		{"net.ipv4.conf.eth0/100.forwarding", "net.ipv4.conf.eth0/100.forwarding", "net/ipv4/conf/eth0.100/forwarding"},
		// first separator '/': dots are literal.
		{"net/ipv4/conf/eth0.100/forwarding", "net.ipv4.conf.eth0/100.forwarding", "net/ipv4/conf/eth0.100/forwarding"},
		{"fs.file-max", "fs.file-max", "fs/file-max"},
		{"kernel", "kernel", "kernel"},
	}
	for _, tt := range tests {
		k, err := ParseKey(tt.in)
		if err != nil {
			t.Errorf("ParseKey(%q) error: %v", tt.in, err)
			continue
		}
		if k.String() != tt.name || k.Path() != tt.path {
			t.Errorf("ParseKey(%q) = name %q path %q, want %q %q", tt.in, k.String(), k.Path(), tt.name, tt.path)
		}
		// The canonical name parses back to the same key.
		k2, err := ParseKey(k.String())
		if err != nil || k2 != k {
			t.Errorf("round trip of %q: %v, %v", k.String(), k2, err)
		}
	}
}

func TestParseKeyRejects(t *testing.T) {
	bad := map[string]string{
		"":                           "empty",
		"/etc/shadow":                "absolute",
		"net/../../etc/passwd":       `".."`,
		"net.core..somaxconn":        "empty component",
		"net/./core":                 `"."`,
		"net.core.somaxconn\n":       "line break",
		"net.core.somaxconn\x00":     "NUL",
		"net.core. somaxconn":        "whitespace",
		"net.core.somaxconn=1":       "'='",
		"net.ipv4.conf.*.rp_filter":  "'*'",
		"net.core.\x1bsomaxconn":     "control",
		"net.core.somaxcönn":         "non-ASCII",
		"net/core/":                  "empty component",
		strings.Repeat("a.", 200):    "longer",
		"net.ipv4.conf.eth0/../x.rp": "component",
	}
	for in, want := range bad {
		_, err := ParseKey(in)
		if err == nil {
			t.Errorf("ParseKey(%q) accepted, want error about %s", in, want)
			continue
		}
		if !errors.Is(err, ErrBadKey) {
			t.Errorf("ParseKey(%q) error %v does not wrap ErrBadKey", in, err)
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ParseKey(%q) error %q does not mention %s", in, err, want)
		}
	}
}

func TestKeyText(t *testing.T) {
	var k Key
	if err := k.UnmarshalText([]byte("net/ipv4/conf/eth0.100/forwarding")); err != nil {
		t.Fatal(err)
	}
	b, _ := k.MarshalText()
	if string(b) != "net.ipv4.conf.eth0/100.forwarding" {
		t.Errorf("MarshalText = %s", b)
	}
	if k.Base() != "forwarding" {
		t.Errorf("Base = %s", k.Base())
	}
	if err := k.UnmarshalText([]byte("../x")); err == nil {
		t.Error("UnmarshalText accepted ../x")
	}
}

func FuzzParseKey(f *testing.F) {
	for _, s := range []string{"net.core.somaxconn", "net.ipv4.tcp_rmem", "fs.file-max", "a.", ".a", "a", "Net.X_Y-1.z", "net/ipv4/conf/eth0.100/forwarding", "net.ipv4.conf.eth0/100.x", "../etc", "a..b", "/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKey(s)
		if full, ferr := parseKeyFull(s); full != k || (ferr == nil) != (err == nil) {
			t.Fatalf("%q: fast path %v, %v; full checks %v, %v", s, k, err, full, ferr)
		}
		if err != nil {
			return
		}
		p := k.Path()
		if strings.HasPrefix(p, "/") || strings.Contains(p, "//") {
			t.Fatalf("%q -> path %q", s, p)
		}
		for _, c := range strings.Split(p, "/") {
			if c == "" || c == "." || c == ".." {
				t.Fatalf("%q -> path %q has component %q", s, p, c)
			}
		}
		if strings.ContainsAny(p, " \t\n\r\x00=") {
			t.Fatalf("%q -> path %q has forbidden bytes", s, p)
		}
		k2, err := ParseKey(k.String())
		if err != nil || k2 != k {
			t.Fatalf("round trip %q -> %q -> %v, %v", s, k.String(), k2, err)
		}
	})
}
