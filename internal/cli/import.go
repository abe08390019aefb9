package cli

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/google/renameio/v2"
	"github.com/spf13/cobra"

	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/validate"
)

func newImportCmd(g *Globals) *cobra.Command {
	var name, description, write string
	cmd := &cobra.Command{
		Use:   "import FILE...|-",
		Short: "Turn sysctl.conf / sysctl.d files into a profile",
		Long: `Read sysctl.conf or sysctl.d files (or standard input, '-') the way
systemd-sysctl and procps read them, and print a tcptune profile that sets
the same keys to the same values: later files and lines win for a key, the
comment lines right above an assignment become its reason, and a '-key'
line (ignore a failure) becomes ignore-failure: true.

Not imported, and reported on stderr with file:line: globs (a profile names
each key), keys outside what tcptune writes (net.*, fs.file-max, fs.nr_open;
keep them in sysctl.d), invalid names and lines that are not assignments.
The profile is validated before it is printed or written.

Exit status: 0 the profile was produced (lines may have been skipped),
1 a file could not be read or the result does not validate.`,
		Example: `  tcptune import /etc/sysctl.d/99-net.conf > /etc/tcptune/profiles.d/net.yaml
  tcptune import --name web --write /etc/tcptune/profiles.d/web.yaml /etc/sysctl.conf /etc/sysctl.d/*.conf
  sysctl -a 2>/dev/null | grep '^net.core' | tcptune import -`,
		Annotations: map[string]string{"outputs": "text"}, // the output is a YAML profile
		Args:        cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var files []profiles.ConfFile
			for _, a := range args {
				f := profiles.ConfFile{Name: a}
				var err error
				if a == "-" {
					f.Name = "(stdin)"
					f.Data, err = io.ReadAll(io.LimitReader(g.Stdin, profiles.MaxFileSize+1))
					if err == nil && len(f.Data) > profiles.MaxFileSize {
						err = fmt.Errorf("standard input is larger than %d bytes", profiles.MaxFileSize)
					}
				} else {
					f.Data, err = profiles.ReadRegular(a, "sysctl file")
				}
				if err != nil {
					return withHint(err, "pass readable sysctl.conf or sysctl.d files, or '-' for standard input")
				}
				files = append(files, f)
			}
			if name == "" {
				name = defaultImportName(args, write)
			}
			out, problems, err := profiles.Import(name, description, files, validate.KeyAllowed)
			for _, p := range problems {
				fmt.Fprintf(g.Stderr, "tcptune: import: %s\n", p)
			}
			if err != nil {
				return err
			}
			if err := checkImported(g, name, out); err != nil {
				return err
			}
			if write == "" {
				_, err := g.Stdout.Write(out)
				return err
			}
			if err := renameio.WriteFile(write, out, 0o644); err != nil {
				return withHint(fmt.Errorf("write %s: %w", write, err), "check that the directory of --write exists and is writable")
			}
			fmt.Fprintf(g.Stderr, "tcptune: wrote profile %q to %s; check it with 'tcptune validate %s'\n", name, write, write)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&name, "name", "", "profile name (default: the --write file's base name, else the first file's, else 'imported')")
	fl.StringVar(&description, "description", "", "profile description (default: the files it came from)")
	fl.StringVarP(&write, "write", "w", "", "write the profile to this file (atomically) instead of standard output")
	return cmd
}

// defaultImportName picks a valid profile name from the --write file or the
// first input file (99-net.conf -> 99-net).
func defaultImportName(args []string, write string) string {
	for _, c := range append([]string{write}, args...) {
		if c == "" || c == "-" {
			continue
		}
		base := filepath.Base(c)
		base = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(base, ".yaml"), ".yml"), ".conf")
		base = strings.ToLower(base)
		if profiles.ValidName(base) {
			return base
		}
	}
	return "imported"
}

// checkImported decodes and validates the produced profile: import promises
// a profile that validates.
func checkImported(g *Globals, name string, out []byte) error {
	p, err := profiles.Decode("(imported)", out, profiles.OriginFile, name)
	if err != nil {
		return fmt.Errorf("the imported profile does not decode (a tcptune bug): %w", err)
	}
	l := &profiles.Loader{Dirs: []string{}}
	r, err := l.ResolveProfiles(p)
	if err != nil {
		return err
	}
	ds := validate.Validate(r, nil)
	for _, d := range ds {
		if d.Severity == validate.SevError {
			fmt.Fprintf(g.Stderr, "tcptune: import: %s\n", strings.Replace(d.String(), "(imported)", "imported profile", 1))
		}
	}
	if validate.HasErrors(ds) {
		return withHint(errors.New("the imported settings do not validate; nothing was written"),
			"fix the values named above in the sysctl files (the kernel would read them differently), then import again")
	}
	return nil
}
