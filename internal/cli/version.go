package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X github.com/tcptune/tcptune/internal/cli.Version=v1.2.3".
var Version = "dev"

// VersionString returns the version with the module build info when known.
func VersionString() string {
	v := Version
	if v == "dev" {
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	return v
}

func newVersionCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print tcptune's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if g.JSON() {
				return writeJSON(g.Stdout, map[string]string{"version": VersionString(), "go": runtime.Version()})
			}
			_, err := fmt.Fprintf(g.Stdout, "tcptune %s (%s)\n", VersionString(), runtime.Version())
			return err
		},
	}
}
