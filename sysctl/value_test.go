package sysctl

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValueNormalize(t *testing.T) {
	a, err := ParseValue("4096\t131072\t6291456")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ParseValue("  4096 131072   6291456 ")
	if a != b || a != "4096 131072 6291456" {
		t.Errorf("normalised %q and %q", a, b)
	}
	if Normalize("4096\t131072\t6291456\n") != a {
		t.Errorf("Normalize of kernel text differs")
	}
	ns, err := a.Ints()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{4096, 131072, 6291456}, ns); diff != "" {
		t.Errorf("Ints (-want +got):\n%s", diff)
	}
	if IntsValue(ns...) != a {
		t.Errorf("IntsValue round trip")
	}
	if _, err := Value("cubic").Ints(); err == nil {
		t.Errorf("Ints of text succeeded")
	}
}

func TestParseValueRejects(t *testing.T) {
	for _, in := range []string{"", "   ", "1\n2", "1\r", "1\x00", "1\x1b", string(make([]byte, 5000))} {
		if _, err := ParseValue(in); !errors.Is(err, ErrBadValue) {
			t.Errorf("ParseValue(%q) = %v, want ErrBadValue", in, err)
		}
	}
}
