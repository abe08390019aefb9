package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/tcptune/tcptune/validate"
)

// catalogOptions: `tcptune catalog` has no flags of its own.
type catalogOptions struct{ g *Globals }

func newCatalogCmd(g *Globals) *cobra.Command {
	o := &catalogOptions{g: g}
	return &cobra.Command{
		Use:   "catalog",
		Short: "List the tunables tcptune knows: type, bounds, default, unit, scope",
		Long: `List the catalog 'validate' checks keys against: each tunable's type, the
bounds its kernel proc handler enforces, the kernel default, the unit and the
scope (per network namespace, or host-wide: not settable from a container).

Exit status: 0.`,
		Args: cobra.NoArgs,
		RunE: runCommand(o),
	}
}

func (o *catalogOptions) Complete(*cobra.Command, []string) error { return nil }
func (o *catalogOptions) Validate() error                         { return nil }

func (o *catalogOptions) Run(context.Context) error {
	if o.g.JSON() {
		return writeJSON(o.g.Stdout, struct {
			Tunables []validate.Tunable `json:"tunables"`
		}{validate.Catalog()})
	}
	return validate.WriteCatalog(o.g.Stdout)
}
