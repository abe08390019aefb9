package validate

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// CatalogRow is one tunable as the catalog table shows it.
type CatalogRow struct {
	Key, Type, Bounds, Default, Unit, Scope string
}

// Row renders t for the catalog table.
func (t Tunable) Row() CatalogRow {
	r := CatalogRow{
		Key: t.Key.String(), Type: string(t.Type), Bounds: t.Bounds(),
		Default: string(t.Default), Unit: t.Unit, Scope: string(t.Scope),
	}
	switch {
	case t.Removed():
		r.Bounds, r.Default = "removed in Linux "+t.RemovedIn, "-"
	case r.Default == "" && t.DefaultNote == "empty":
		r.Default = "(empty)"
	case r.Default == "":
		r.Default = "(computed at boot)"
	}
	if t.Type == TypeString {
		r.Bounds = "a name (max 15 bytes)"
	}
	if t.Scope == ScopeGlobal {
		r.Scope = "global (host-wide)"
	}
	return r
}

var catalogHeader = CatalogRow{"KEY", "TYPE", "BOUNDS", "DEFAULT", "UNIT", "SCOPE"}

// WriteCatalog prints the catalog as an aligned text table, for
// `tcptune validate --catalog` or similar.
func WriteCatalog(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range append([]CatalogRow{catalogHeader}, rows()...) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Key, r.Type, r.Bounds, r.Default, r.Unit, r.Scope)
	}
	return tw.Flush()
}

// WriteCatalogMarkdown prints the catalog as a Markdown table, for the
// README.
func WriteCatalogMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("| key | type | bounds | default | unit | scope |\n|---|---|---|---|---|---|\n")
	for _, r := range rows() {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", r.Key, r.Type, r.Bounds, r.Default, r.Unit, r.Scope)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func rows() []CatalogRow {
	all := sorted()
	out := make([]CatalogRow, len(all))
	for i, t := range all {
		out[i] = t.Row()
	}
	return out
}
