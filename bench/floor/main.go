// Command floor is the second floor `make bench` shows next to tcptune: a
// program that starts, initialises the two libraries every tcptune command
// links (cobra for the command line, go.yaml.in/yaml/v3 for profile files,
// both as patched in third_party/: no regexp compiled at init) and writes one
// line. What tcptune spends beyond it is its own.
package main

import (
	"os"

	_ "github.com/spf13/cobra"
	_ "go.yaml.in/yaml/v3"
)

func main() { os.Stdout.WriteString("hello, world\n") }
