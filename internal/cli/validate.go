package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/validate"
)

type validateOptions struct {
	kernel bool
}

type validateJSON struct {
	Valid       bool                  `json:"valid"`
	Profiles    []string              `json:"profiles"`
	Errors      int                   `json:"errors"`
	Warnings    int                   `json:"warnings"`
	Diagnostics []validate.Diagnostic `json:"diagnostics"`
}

func newValidateCmd(g *Globals) *cobra.Command {
	o := &validateOptions{}
	cmd := &cobra.Command{
		Use:   "validate P|FILE...|-f FILE",
		Short: "Check profiles against the catalog and the rules across keys",
		Long: `Validate profiles (by name or file) without touching the kernel: the YAML
schema, every key against tcptune's catalog of tunables (type, bounds from the
kernel source, removed keys), and the rules across keys (tcp_rmem ordering,
port range against ip_unprivileged_port_start and reserved ports, ...).
Several profiles are validated as their composition.

A profile may write net.*, fs.file-max and fs.nr_open; any other key is
refused unless the profile lists it under allow: and its file is owned by root
and not writable by group or others. As root, every profile file and directory
must pass that ownership check. net.* keys outside the catalog are warnings
(the kernel judges them on apply). Integers are read as the kernel reads them:
"010" (octal 8), "0x10" and "+15" are errors. Every command that loads
profiles (show, diff, apply, reconcile, systemd install, lab) gives the same
verdict.

With --kernel it also reads the running kernel (or --sysctl-root): every key
must exist and be writable here (ignore-failure and nf_conntrack keys may be
absent); inside a container's network namespace host-wide keys are reported
as such. On the real /proc/sys it also warns when a new ip_local_port_range
covers a live listener or Kubernetes' NodePorts, and when the active tuned
profile sets the same keys.

Exit status: 0 valid (warnings allowed), 1 invalid.`,
		Example: `  tcptune validate high-concurrency
  tcptune validate ./my-profile.yaml --kernel
  tcptune validate -o json fail-fast`,
		Args:              profileRefs(g),
		ValidArgsFunction: profileArgs(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(g, g.refs(args))
		},
	}
	cmd.Flags().BoolVar(&o.kernel, "kernel", false, "also check every key exists and is writable on the running kernel")
	return cmd
}

func (o *validateOptions) run(g *Globals, args []string) error {
	out := validateJSON{Profiles: args, Diagnostics: []validate.Diagnostic{}}
	if err := checkRefs(args); err != nil {
		return err
	}
	r, err := g.Loader().Resolve(args...)
	var de *profiles.DecodeError
	switch {
	case errors.As(err, &de):
		out.Diagnostics = append(out.Diagnostics, validate.Diagnostic{
			Severity: validate.SevError, Key: de.Key, Pos: de.Pos, Message: de.Msg,
			Hint: "fix the profile file; see 'Profile schema' in the README",
		})
	case err != nil:
		if g.JSON() {
			out.Diagnostics = append(out.Diagnostics, validate.Diagnostic{Severity: validate.SevError, Message: err.Error()})
			break
		}
		return resolveHint(err)
	default:
		out.Profiles = r.Profiles
		var k *validate.Kernel
		if o.kernel {
			k = g.kernelFacts()
		}
		out.Diagnostics = append(out.Diagnostics, validate.Validate(r, k)...)
	}
	for _, d := range out.Diagnostics {
		switch d.Severity {
		case validate.SevError:
			out.Errors++
		case validate.SevWarning:
			out.Warnings++
		}
	}
	out.Valid = out.Errors == 0
	if g.JSON() {
		if err := writeJSON(g.Stdout, out); err != nil {
			return err
		}
	} else {
		for _, d := range out.Diagnostics {
			fmt.Fprintln(g.Stderr, d.String())
		}
		if out.Valid {
			fmt.Fprintf(g.Stdout, "%s: valid (%d warnings)\n", strings.Join(out.Profiles, " + "), out.Warnings)
		} else {
			fmt.Fprintf(g.Stdout, "%s: invalid (%d errors, %d warnings)\n", strings.Join(out.Profiles, " + "), out.Errors, out.Warnings)
		}
	}
	if !out.Valid {
		return withExit(ExitError)
	}
	return nil
}
