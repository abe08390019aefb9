// Command tcptune tunes the Linux network stack from declarative profiles.
//
// main is thin: all wiring lives in internal/cli so tests can run the same
// code with their own arguments and output streams.
package main

import (
	_ "github.com/tcptune/tcptune/internal/stackgrow"
	"os"

	"github.com/tcptune/tcptune/internal/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
