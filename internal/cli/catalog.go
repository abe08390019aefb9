package cli

import (
	"github.com/spf13/cobra"

	"github.com/tcptune/tcptune/validate"
)

func newCatalogCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "catalog",
		Short: "List the tunables tcptune knows: type, bounds, default, unit, scope",
		Long: `List the catalog 'validate' checks keys against: each tunable's type, the
bounds its kernel proc handler enforces, the kernel default, the unit and the
scope (per network namespace, or host-wide: not settable from a container).

Exit status: 0.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if g.JSON() {
				return writeJSON(g.Stdout, struct {
					Tunables []validate.Tunable `json:"tunables"`
				}{validate.Catalog()})
			}
			return validate.WriteCatalog(g.Stdout)
		},
	}
}
