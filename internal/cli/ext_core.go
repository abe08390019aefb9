//go:build !tcptune_ext

package cli

import "github.com/spf13/cobra"

// This file is the tcptune binary's side of the companion split (ext.go):
// `lab` and `doctor --trace` run tcptune-ext, which has them built in
// (lab.go, doctor_trace.go: -tags tcptune_ext).

// extBuilt reports whether this build has the companion's commands.
const extBuilt = false

// newLabCmd is `lab` without the labs: every argument, --help included, goes
// to tcptune-ext.
func newLabCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:                "lab",
		Short:              "Reproduce each failure in a throwaway network namespace and measure a profile's effect (runs " + ExtName + ")",
		Long:               "The labs are in " + ExtName + ", tcptune's companion binary: 'tcptune lab ...' runs it with the same arguments.\nSee 'tcptune lab --help' for the labs' own help.",
		DisableFlagParsing: true,
		RunE: func(*cobra.Command, []string) error {
			return execExt(g, "tcptune lab")
		},
	}
}

// runDoctorTrace hands `doctor --trace` to tcptune-ext.
func runDoctorTrace(_ *cobra.Command, g *Globals, _ *doctorOptions) error {
	return execExt(g, "doctor --trace")
}
