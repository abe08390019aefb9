// Command tcptune tunes the Linux network stack from declarative profiles.
//
// main is thin: all wiring lives in internal/cli so tests can run the same
// code with their own arguments and output streams.
package main

import (
	"os"

	"github.com/tcptune/tcptune/internal/cli"
	_ "github.com/tcptune/tcptune/internal/stackgrow" // grow the main stack once, early (see the package)
)

func main() {
	os.Exit(cli.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
