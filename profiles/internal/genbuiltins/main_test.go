package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestGeneratedFileFresh fails when builtin_gen.go is not what the built-in
// YAML files generate: someone edited a profile (or the decoder) and did not
// run `go generate ./profiles`.
func TestGeneratedFileFresh(t *testing.T) {
	want, err := Render(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("..", "..", Output))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("profiles/%s is stale: run `go generate ./profiles` and commit the result", Output)
	}
}

// TestRenderRejectsUnknownKinds: a field the generator cannot write is an
// error naming it, not a silently missing value.
func TestRenderRejectsUnknownKinds(t *testing.T) {
	var b bytes.Buffer
	err := value(&b, reflect.ValueOf(struct{ M map[string]int }{M: map[string]int{"a": 1}}), "X", false)
	if err == nil {
		t.Fatal("a map field was rendered")
	}
}
