// Command tcptune-gendocs writes tcptune's man pages, shell completions and
// packaged systemd units from the command tree itself, so they never drift
// from the flags. `make install` and packaging/build-deb.sh run it.
//
// It is a separate binary so that cobra/doc and its markdown renderer are not
// linked into tcptune, whose start-up time is part of every diff and apply.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/tcptune/tcptune/apply"
	"github.com/tcptune/tcptune/internal/cli"
	"github.com/tcptune/tcptune/systemd"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "tcptune-gendocs: error: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fl := flag.NewFlagSet("tcptune-gendocs", flag.ContinueOnError)
	manDir := fl.String("man-dir", "", "write section-8 man pages here")
	complDir := fl.String("completion-dir", "", "write bash/tcptune, zsh/_tcptune and fish/tcptune.fish here")
	unitDir := fl.String("unit-dir", "", "write the packaged systemd units (profile "+packageProfile+") here")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *manDir == "" && *complDir == "" && *unitDir == "" {
		return fmt.Errorf("nothing to generate: give --man-dir, --completion-dir or --unit-dir")
	}
	root := cli.NewRootCmd()
	if *manDir != "" {
		if err := os.MkdirAll(*manDir, 0o755); err != nil {
			return err
		}
		hdr := &doc.GenManHeader{Title: "TCPTUNE", Section: "8", Source: "tcptune " + cli.VersionString(), Manual: "tcptune manual"}
		// Deterministic pages for reproducible packages: no build date.
		root.DisableAutoGenTag = true
		if err := doc.GenManTree(root, hdr, *manDir); err != nil {
			return fmt.Errorf("man pages: %w", err)
		}
	}
	if *complDir != "" {
		if err := genCompletions(root, *complDir); err != nil {
			return err
		}
	}
	if *unitDir != "" {
		if err := genPackageUnits(*unitDir); err != nil {
			return err
		}
	}
	return nil
}

// genCompletions writes the three completions in the layout the
// distributions install them from.
func genCompletions(root *cobra.Command, dir string) error {
	for _, c := range []struct {
		path string
		gen  func(f *os.File) error
	}{
		{"bash/tcptune", func(f *os.File) error { return root.GenBashCompletionV2(f, true) }},
		{"zsh/_tcptune", func(f *os.File) error { return root.GenZshCompletion(f) }},
		{"fish/tcptune.fish", func(f *os.File) error { return root.GenFishCompletion(f, true) }},
	} {
		p := filepath.Join(dir, c.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		err = c.gen(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("completion %s: %w", p, err)
		}
	}
	return nil
}

// packageProfile is the profile the packaged units apply: the package ships
// /etc/tcptune/profiles.d/host.yaml as a conffile for the admin to edit.
// The units are installed disabled; nothing is applied until the admin
// enables them (or runs 'tcptune systemd install P' for other profiles).
const packageProfile = "host"

// genPackageUnits renders the same units 'tcptune systemd install host'
// would, with the packaged paths, without resolving the profile: it lives
// on the target machine, not the build machine.
func genPackageUnits(dir string) error {
	state := []string{"--state-dir", apply.DefaultStateDir, "--persist-dir", apply.DefaultPersistDir}
	units, err := systemd.Units(systemd.UnitConfig{
		Binary:        "/usr/bin/tcptune",
		Profiles:      []string{packageProfile},
		ApplyArgs:     state,
		ReconcileArgs: append([]string{"--mode", "enforce", "--interval", "30s"}, state...),
		Mode:          "enforce",
		Interval:      30 * time.Second,
		StateDir:      apply.DefaultStateDir,
		WritablePaths: []string{apply.DefaultPersistDir},
	})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, b := range units {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
