package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/validate"
)

// showOptions: `tcptune show P...`.
type showOptions struct {
	g        *Globals
	profiles []string
	resolved *profiles.Resolved
}

func newShowCmd(g *Globals) *cobra.Command {
	o := &showOptions{g: g}
	return &cobra.Command{
		Use:   "show P...",
		Short: "Show the resolved profile as YAML, each setting with its reason",
		Long: `Show the composition of one or more profiles (by name or file) as a YAML
profile: one setting per key with its value, op and reason, and comments
naming the profile each came from. When several profiles (or extends) set
the same key, the later wins, except that two at-least settings keep the
larger value and two at-most the smaller; the overrides are listed.

Exit status: 0, or 1 if a profile is unknown or malformed.`,
		Example: `  tcptune show high-concurrency
  tcptune show high-concurrency fail-fast -o json`,
		Args:              profileRefs(g),
		ValidArgsFunction: profileArgs(g),
		RunE:              runCommand(o),
	}
}

func (o *showOptions) Complete(_ *cobra.Command, args []string) error {
	o.profiles = o.g.refs(args)
	return nil
}

// Validate resolves the profiles: unknown or malformed is exit 1.
func (o *showOptions) Validate() error {
	r, err := o.g.resolve(o.profiles)
	o.resolved = r
	return err
}

func (o *showOptions) Run(context.Context) error {
	for _, d := range validate.Shadows(o.resolved) {
		fmt.Fprintln(o.g.Stderr, d.String())
	}
	if o.g.JSON() {
		return writeJSON(o.g.Stdout, resolvedJSON(o.resolved))
	}
	_, err := fmt.Fprint(o.g.Stdout, resolvedYAML(o.resolved))
	return err
}

type settingJSON struct {
	Key     string `json:"key"`
	Value   string `json:"value"`
	Op      string `json:"op"`
	Reason  string `json:"reason"`
	Profile string `json:"profile"`
	Source  string `json:"source"`
	// IgnoreFailure: sysctl.d's "-key"; omitted when false.
	IgnoreFailure bool `json:"ignore_failure,omitempty"`
}

func resolvedJSON(r *profiles.Resolved) any {
	out := struct {
		Profiles  []string            `json:"profiles"`
		Chain     []string            `json:"chain"`
		Settings  []settingJSON       `json:"settings"`
		Overrides []profiles.Override `json:"overrides"`
	}{Profiles: r.Profiles, Chain: r.Chain, Settings: []settingJSON{}, Overrides: r.Overrides}
	if out.Overrides == nil {
		out.Overrides = []profiles.Override{}
	}
	for _, s := range r.Settings {
		out.Settings = append(out.Settings, settingJSON{s.Key.String(), s.Value.String(), string(s.Op), s.Reason, s.Profile, s.Pos.String(), s.IgnoreFailure})
	}
	return out
}

// resolvedYAML renders a resolved profile as a loadable profile file, with
// provenance in comments.
func resolvedYAML(r *profiles.Resolved) string {
	var b strings.Builder
	name := strings.Join(r.Profiles, "+")
	fmt.Fprintf(&b, "# resolved from: %s\n", strings.Join(r.Chain, " -> "))
	for _, o := range r.Overrides {
		fmt.Fprintf(&b, "# %s: %s (%s) overridden by %s (%s): %s, result %s\n",
			o.Key, o.FromValue, o.From, o.ByValue, o.By, o.Resolution, o.Result)
	}
	fmt.Fprintf(&b, "name: %s\n", yamlScalar(name))
	fmt.Fprintf(&b, "settings:\n")
	for _, s := range r.Settings {
		fmt.Fprintf(&b, "  %s:  # from %s (%s)\n", s.Key, s.Profile, s.Pos)
		v := s.Value.String()
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && strconv.FormatInt(n, 10) == v {
			fmt.Fprintf(&b, "    value: %s\n", v)
		} else {
			fmt.Fprintf(&b, "    value: %s\n", yamlScalar(v))
		}
		fmt.Fprintf(&b, "    op: %s\n", s.Op)
		if s.Reason != "" {
			fmt.Fprintf(&b, "    reason: %s\n", yamlScalar(s.Reason))
		}
		if s.IgnoreFailure {
			b.WriteString("    ignore-failure: true\n")
		}
	}
	return b.String()
}

// yamlScalar quotes s as a YAML string.
func yamlScalar(s string) string {
	out, err := yaml.Marshal(s)
	if err != nil || strings.Contains(strings.TrimRight(string(out), "\n"), "\n") {
		return strconv.Quote(s)
	}
	o := strings.TrimRight(string(out), "\n")
	if !strings.HasPrefix(o, "\"") && !strings.HasPrefix(o, "'") {
		return strconv.Quote(s)
	}
	return o
}
