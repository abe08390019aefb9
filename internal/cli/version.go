package cli

import (
	"context"
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

// versionOptions: `tcptune version` has no flags of its own.
type versionOptions struct{ g *Globals }

func newVersionCmd(g *Globals) *cobra.Command {
	o := &versionOptions{g: g}
	return &cobra.Command{
		Use:   "version",
		Short: "Print tcptune's version",
		Args:  cobra.NoArgs,
		RunE:  runCommand(o),
	}
}

func (o *versionOptions) Complete(*cobra.Command, []string) error { return nil }
func (o *versionOptions) Validate() error                         { return nil }

func (o *versionOptions) Run(context.Context) error {
	if o.g.JSON() {
		return writeJSON(o.g.Stdout, map[string]string{"version": VersionString(), "go": runtime.Version()})
	}
	_, err := fmt.Fprintf(o.g.Stdout, "tcptune %s (%s)\n", VersionString(), runtime.Version())
	return err
}
