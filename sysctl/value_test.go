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

// Ints splits by hand for speed; it must split exactly as Fields does.
func TestIntsSplitsAsFields(t *testing.T) {
	for _, v := range []Value{"", " ", "1", "4096 131072 6291456", " 1\t2\n3 ", "1\u00a02", "1\u20282", "1 x", "-5 +6", "007"} {
		got, gerr := v.Ints()
		want, werr := intsOf(v, v.Fields())
		if (gerr == nil) != (werr == nil) || len(got) != len(want) {
			t.Errorf("%q: Ints = %v, %v; Fields form %v, %v", v, got, gerr, want, werr)
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%q: Ints = %v; Fields form %v", v, got, want)
			}
		}
	}
}
