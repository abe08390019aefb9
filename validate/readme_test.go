package validate

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestREADMECatalogTable keeps the README's catalog table equal to what
// WriteCatalogMarkdown prints: the README makes claims about bounds and
// scopes, and this is what backs them.
func TestREADMECatalogTable(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := WriteCatalogMarkdown(&want); err != nil {
		t.Fatal(err)
	}
	header := strings.SplitN(want.String(), "\n", 2)[0]
	text := string(readme)
	i := strings.Index(text, header+"\n")
	if i < 0 {
		t.Fatalf("README.md has no catalog table starting with %q", header)
	}
	end := strings.Index(text[i:], "\n\n")
	if end < 0 {
		end = len(text) - i
	}
	got := text[i:i+end] + "\n"
	if got != want.String() {
		t.Errorf("README.md catalog table differs from WriteCatalogMarkdown; paste its output:\n%s", want.String())
	}
}
