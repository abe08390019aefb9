package cli

import (
	"github.com/spf13/cobra"

	"github.com/tcptune/tcptune/export"
)

func newExportCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Render profiles for other tools (Kubernetes pod sysctls)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "pod-sysctls P...",
		Short: "Render profiles as a Kubernetes pod's securityContext.sysctls",
		Long: `Render the namespaced keys of one or more profiles as a pod's
securityContext.sysctls snippet. A pod without hostNetwork has its own network
namespace, which starts from kernel defaults: tuning the node (the DaemonSet)
does not reach it, its own sysctls do.

Each key is marked safe or unsafe per the kubelet's allow-list (Kubernetes
1.32+); the unsafe ones are rejected unless every node's kubelet runs with the
--allowed-unsafe-sysctls= value printed. Host-wide keys (netdev_max_backlog,
rmem_max, tcp_mem, fs.file-max, ...) cannot be set per pod and are listed
apart. at-least / at-most settings become their value: there is no live value
to compare with in a new namespace.

Exit status: 0, or 1 if a profile is unknown or malformed.`,
		Example: `  tcptune export pod-sysctls high-concurrency
  tcptune export pod-sysctls fail-fast -o json`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: profileArgs(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := g.resolveValid(args)
			if err != nil {
				return err
			}
			p := export.NewPodSysctls(r)
			if g.JSON() {
				return writeJSON(g.Stdout, p)
			}
			_, err = g.Stdout.Write(p.YAML())
			return err
		},
	})
	return cmd
}
