package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tcptune/tcptune/profiles"
)

// profileArgs completes profile names.
func profileArgs(g *Globals) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return g.Loader().Names(), cobra.ShellCompDirectiveDefault
	}
}

// resolve loads and composes the profiles named on the command line, with a
// hint that lists the known profiles when one is missing.
func (g *Globals) resolve(refs []string) (*profiles.Resolved, error) {
	if err := checkRefs(refs); err != nil {
		return nil, err
	}
	r, err := g.Loader().Resolve(refs...)
	if err != nil {
		return nil, resolveHint(err)
	}
	return r, nil
}

// checkRefs refuses a sysctl.conf line given where a profile is expected
// ('tcptune apply net.core.somaxconn=65535'), pointing to import.
func checkRefs(refs []string) error {
	for _, r := range refs {
		if strings.Contains(r, "=") && !profiles.IsPath(r) {
			return withHint(fmt.Errorf("%q is a sysctl.conf line (key = value), not a profile", r),
				"put such lines in a file and convert it with 'tcptune import FILE', or write a profile (README: Profile schema)")
		}
	}
	return nil
}

// resolveHint adds the hint for an unknown profile.
func resolveHint(err error) error {
	if strings.Contains(err.Error(), profiles.ErrNotFound.Error()) {
		return withHint(err, "run 'tcptune list' to see the profiles, or pass a file with -f FILE")
	}
	return err
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newListCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the profiles with their origin and description",
		Long: `List every profile tcptune knows: the built-ins, user profiles from the
--profile-dir directories (default /etc/tcptune/profiles.d/*.yaml) and files given
with -f. A user profile with a built-in's name shadows it; ORIGIN says which one
is used.

Exit status: 0, or 1 if a profile file is malformed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ps, err := g.Loader().All()
			if err != nil {
				return err
			}
			if g.JSON() {
				type item struct {
					Name        string   `json:"name"`
					Description string   `json:"description"`
					Origin      string   `json:"origin"`
					File        string   `json:"file"`
					Shadows     string   `json:"shadows,omitempty"`
					Extends     []string `json:"extends"`
					Keys        int      `json:"keys"`
				}
				out := struct {
					Profiles []item `json:"profiles"`
				}{Profiles: []item{}}
				for _, p := range ps {
					out.Profiles = append(out.Profiles, item{p.Name, p.Description, string(p.Origin), p.File, p.Shadows, nonNil(p.Extends), len(p.Settings)})
				}
				return writeJSON(g.Stdout, out)
			}
			tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tORIGIN\tKEYS\tDESCRIPTION")
			for _, p := range ps {
				origin := string(p.Origin)
				if p.Origin != profiles.OriginBuiltin {
					origin += " " + p.File
				}
				if p.Shadows != "" {
					origin += " (shadows " + p.Shadows + ")"
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", p.Name, origin, len(p.Settings), p.Description)
			}
			return tw.Flush()
		},
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
