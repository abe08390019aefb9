package cli

import (
	"context"

	"github.com/spf13/cobra"
)

// Every command is an options struct (kubectl's pkg/cmd pattern): its flag
// fields and the shared Globals (flags and IO streams), with
//
//	Complete(cmd, args)  turn flags and arguments into what Run needs
//	                     (resolved profiles, apply.Options, paths)
//	Validate()           refuse what cannot run, before anything is read or written
//	Run(ctx)             do it: one call into the package that owns the workflow, then a printer
//
// The cobra command only wires flags to the struct and calls runCommand;
// tests can call Complete, Validate and Run directly with buffers as streams.
type command interface {
	Complete(cmd *cobra.Command, args []string) error
	Validate() error
	Run(ctx context.Context) error
}

// runCommand is every command's RunE.
func runCommand(c command) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := c.Complete(cmd, args); err != nil {
			return err
		}
		if err := c.Validate(); err != nil {
			return err
		}
		return c.Run(cmdContext(cmd))
	}
}
