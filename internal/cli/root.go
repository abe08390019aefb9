// Package cli wires tcptune's commands: flags -> options -> calls into the
// domain packages -> a printer (text | json | prometheus). Domain logic does
// not live here; each command is one file with a newXxxCmd(*Globals).
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
	"github.com/tcptune/tcptune/validate"
)

// Exit statuses, shared by every command.
const (
	ExitOK    = 0
	ExitError = 1
	// ExitChanges: drift found (diff, status), findings (doctor), or
	// something changed (apply --detailed-exitcode).
	ExitChanges = 2
	// ExitUnknown: doctor could not read a source it needs and found
	// nothing: the result is unknown, never healthy.
	ExitUnknown = 3
)

// DefaultProfileDir is where user profiles live.
const DefaultProfileDir = "/etc/tcptune/profiles.d"

// Globals are the flags every command shares, plus the IO streams.
type Globals struct {
	SysctlRoot  string
	Output      string
	ProfileDirs []string
	Files       []string
	NetnsKind   string // auto | initial | child
	// tuned's paths, for the conflict report (judge.go).
	TunedDir     string
	TunedLibDirs []string
	TunedRunDir  string

	detected *netns.Here // the live namespace, once asked
	kind     *netns.Kind // its kind alone, when only that was asked
	args     []string    // the arguments of this run, for execExt

	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// exitError carries an exit status without a message (drift is not an error
// to print, but it is status 2).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// withExit returns an error that makes Run exit with code and print nothing.
func withExit(code int) error { return exitError{code} }

// hintError is an error with a follow-up line telling the user what to do.
type hintError struct {
	err  error
	hint string
}

func (e hintError) Error() string { return e.err.Error() }
func (e hintError) Unwrap() error { return e.err }

// withHint attaches a hint to err; the CLI prints it as "tcptune: hint: ...".
func withHint(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return hintError{err: err, hint: fmt.Sprintf(format, args...)}
}

// Run executes tcptune with args and returns the exit status.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return RunContext(context.Background(), args, stdin, stdout, stderr)
}

// RunContext is Run with a context that long-running commands (reconcile)
// stop on, so tests can run them in-process for a bounded time.
func RunContext(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &Globals{Stdin: stdin, Stdout: stdout, Stderr: stderr, args: args}
	if !extBuilt && len(args) > 1 && (args[0] == cobra.ShellCompRequestCmd || args[0] == cobra.ShellCompNoDescRequestCmd) && args[1] == "lab" {
		return report(stderr, execExt(g, "completing tcptune lab")) // the labs' flags and scenarios are in tcptune-ext
	}
	root := buildRoot(g, args)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if !singleLeaf(root) {
		if err := usageOf(root, args); err != nil { // an unknown command
			return report(stderr, err)
		}
	}
	if err := root.ExecuteContext(ctx); err != nil {
		return report(stderr, err) // errors.go: the one table of exit status and hint
	}
	return ExitOK
}

// commands is the list of subcommand constructors, each with the names it
// answers to (its Use's first word, then its aliases; TestCommandNames checks
// them). Each command lives in its own file; add yours here.
var commands = []struct {
	names []string
	new   func(*Globals) *cobra.Command
}{
	{[]string{"list"}, newListCmd},
	{[]string{"show"}, newShowCmd},
	{[]string{"validate"}, newValidateCmd},
	{[]string{"diff", "plan"}, newDiffCmd},
	{[]string{"version"}, newVersionCmd},
	{[]string{"catalog"}, newCatalogCmd},
	{[]string{"doctor"}, newDoctorCmd},
	{[]string{"apply"}, newApplyCmd}, {[]string{"rollback"}, newRollbackCmd}, {[]string{"status"}, newStatusCmd},
	{[]string{"lab"}, newLabCmd},
	{[]string{"reconcile"}, newReconcileCmd}, {[]string{"systemd"}, newSystemdCmd},
	{[]string{"import"}, newImportCmd},
	{[]string{"export"}, newExportCmd},
}

// NewRootCmd returns the command tree with the process's standard streams,
// for tools that render it (cmd/tcptune-gendocs: man pages, completions).
func NewRootCmd() *cobra.Command {
	return newRootCmd(&Globals{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
}

// newRootCmd returns the whole command tree.
func newRootCmd(g *Globals) *cobra.Command { return buildRoot(g, nil) }

// buildRoot returns the command tree for args: only the command args name
// when they name one (every diff and apply pays for the tree it builds:
// all commands' flags, the completion commands), the whole tree otherwise
// (help, completion, an unknown command, nil args).
func buildRoot(g *Globals, args []string) *cobra.Command {
	root := &cobra.Command{
		Use:   "tcptune",
		Short: "Tune the Linux network stack from declarative profiles",
		Long: `tcptune tunes the Linux network stack from declarative YAML profiles.

It validates a profile before anything touches the kernel, shows the plan
(live vs desired), applies all-or-nothing with read-back and rollback, and
persists to sysctl.d. 'tcptune doctor' reads the kernel's counters and says
which knob this machine needs; 'tcptune lab' reproduces each failure in a
throwaway network namespace and shows what a profile changes.

Built-in profiles: high-concurrency, fail-fast, syn-flood ('tcptune list').

  tcptune diff high-concurrency        what would change (nothing written)
  tcptune apply high-concurrency       apply it, all or nothing
  tcptune rollback                     put the old values back
  tcptune doctor                       what is overflowing here, and the fix

Exit status: 0 ok / in sync, 1 error, 2 drift or changes (see each command).`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.check(cmd); err != nil {
				return err
			}
			return g.enterNetns(cmd) // netns.go: --netns re-executes tcptune there
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.SysctlRoot, "sysctl-root", sysctl.DefaultRoot, "directory holding the sysctl tree (a fake tree for tests)")
	pf.StringVarP(&g.Output, "output", "o", "text", "output format: text|json (status, doctor --trace: also prometheus)")
	stringListVar(pf, &g.ProfileDirs, "profile-dir", "", []string{DefaultProfileDir}, true, "directories of user profiles (*.yaml)")
	stringListVar(pf, &g.Files, "file", "f", nil, false, "load a profile from FILE (repeatable); its name becomes usable as P")
	pf.StringVar(&g.NetnsKind, "netns-kind", "auto", "network namespace kind for host-wide keys: auto|initial|child (on /proc/sys the kernel decides; child makes it stricter, initial asserts the host's namespace and is an error in a child one; a fake root counts as initial unless child)")
	pf.StringVar(&g.TunedDir, "tuned-dir", validate.DefaultTunedEtc, "tuned's configuration directory (active_profile, tuned-main.conf), for the conflict report")
	stringListVar(pf, &g.TunedLibDirs, "tuned-lib-dir", "", []string{validate.DefaultTunedLib}, true, "tuned's profile directories after --tuned-dir")
	pf.StringVar(&g.TunedRunDir, "tuned-run-dir", "/run/tuned", "tuned's runtime directory (tuned.pid says it runs)")
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json", "prometheus"}, cobra.ShellCompDirectiveNoFileComp))
	if only := commandFor(root, args); only != nil {
		root.AddCommand(only(g))
		root.CompletionOptions.DisableDefaultCmd = true // `completion` is never this command
	} else {
		for _, c := range commands {
			root.AddCommand(c.new(g))
		}
	}
	addNetnsFlags(root)
	usageErrors(root)
	if len(args) == 0 || !strings.HasPrefix(args[0], cobra.ShellCompRequestCmd) {
		unsortedFlags(root)
	}
	return root
}

// unsortedFlags turns off pflag's sorting of every flag set in the tree, and
// turns it on again before help is printed. pflag sorts a set's flags on
// every VisitAll, and cobra calls it several times per run to merge the
// persistent flags: 6% of a diff's instructions (make bench). Only help
// (and shell completion, which keeps sorting: see buildRoot) lists flags.
func unsortedFlags(root *cobra.Command) {
	setSortFlags(root, false)
	help := root.HelpFunc()
	root.SetHelpFunc(func(c *cobra.Command, args []string) {
		setSortFlags(root, true)
		help(c, args)
	})
}

func setSortFlags(c *cobra.Command, on bool) {
	c.Flags().SortFlags = on
	c.PersistentFlags().SortFlags = on
	for _, s := range c.Commands() {
		setSortFlags(s, on)
	}
}

// singleLeaf reports whether buildRoot built only the command args name and
// it has no subcommands: then no argument can name an unknown command, and
// the look-up usageOf does (cobra's Find, as costly as the one Execute makes
// again) is skipped.
func singleLeaf(root *cobra.Command) bool {
	cs := root.Commands()
	return len(cs) == 1 && !cs[0].HasSubCommands()
}

// commandFor returns the constructor of the command args name, skipping the
// root's persistent flags before it, or nil when args name none or hold a
// flag the root does not know (--help).
func commandFor(root *cobra.Command, args []string) func(*Globals) *cobra.Command {
	pf := root.PersistentFlags()
	for i := 0; i < len(args); i++ {
		a := args[i]
		var f *pflag.Flag
		attached := false // the value is part of a
		switch {
		case a == "--" || a == "-":
			return nil
		case strings.HasPrefix(a, "--"):
			name, _, hasValue := strings.Cut(a[2:], "=")
			f, attached = pf.Lookup(name), hasValue
		case strings.HasPrefix(a, "-"):
			f, attached = pf.ShorthandLookup(a[1:2]), len(a) > 2
		default:
			for _, c := range commands {
				if slices.Contains(c.names, a) {
					return c.new
				}
			}
			return nil
		}
		if f == nil {
			return nil
		}
		if !attached && f.NoOptDefVal == "" {
			i++ // the flag's value
		}
	}
	return nil
}

// allowedOutputs is set per command through the "outputs" annotation;
// the default is text and json.
func (g *Globals) check(cmd *cobra.Command) error {
	allowed := []string{"text", "json"}
	if a, ok := cmd.Annotations["outputs"]; ok {
		allowed = strings.Split(a, ",")
	}
	if !slices.Contains(allowed, g.Output) {
		return withHint(fmt.Errorf("unknown output format %q for %s", g.Output, cmd.CommandPath()),
			"allowed values: %s", strings.Join(allowed, ", "))
	}
	switch g.NetnsKind {
	case "auto", "initial", "child":
	default:
		return withHint(fmt.Errorf("unknown --netns-kind %q", g.NetnsKind), "allowed values: auto, initial, child")
	}
	return g.checkNetnsKind()
}

// FS returns the sysctl tree the command works on.
func (g *Globals) FS() *sysctl.FS { return sysctl.NewFS(g.SysctlRoot) }

// Netns returns the network namespace kind for host-wide key handling.
//
// On the real /proc/sys the kernel facts decide (netns.Detect), and an
// answer they cannot give counts as child: "could not tell" must never let a
// host-wide key such as fs.file-max, writable from a child namespace, change
// the host. --netns-kind child is always honoured; --netns-kind initial is an
// assertion that check() has already verified against the facts (it settles
// only "could not tell"). On a fake root --netns-kind decides (default
// initial).
func (g *Globals) Netns() netns.Kind {
	if g.NetnsKind == "child" {
		return netns.Child
	}
	if g.SysctlRoot != sysctl.DefaultRoot {
		return netns.Initial
	}
	if g.NetnsKind == "initial" || g.liveKind() == netns.Initial {
		return netns.Initial
	}
	return netns.Child
}

// liveKind is here().Kind, without the namespace's identity when nothing
// asked for it yet (netns.DetectKind): diff and apply need only the kind.
func (g *Globals) liveKind() netns.Kind {
	if g.detected != nil {
		return g.detected.Kind
	}
	if g.kind == nil {
		k := netns.DetectKind(sysctl.DefaultRoot)
		g.kind = &k
	}
	return *g.kind
}

// here is what the kernel says about the live namespace, read once.
func (g *Globals) here() netns.Here {
	if g.detected == nil {
		h := netns.Detect(sysctl.DefaultRoot)
		g.detected = &h
	}
	return *g.detected
}

// checkNetnsKind refuses --netns-kind initial on the live /proc/sys when the
// kernel says this is a child namespace: a DaemonSet pod that lost
// hostNetwork must fail loudly, not tune its own namespace as if it were the
// node's.
func (g *Globals) checkNetnsKind() error {
	if g.NetnsKind != "initial" || g.SysctlRoot != sysctl.DefaultRoot {
		return nil
	}
	if h := g.here(); h.Kind == netns.Child {
		return withHint(fmt.Errorf("--netns-kind initial, but %s is a child network namespace: %s", h.Self, h.Reason),
			"run tcptune in the host's network namespace (hostNetwork: true in Kubernetes), or drop --netns-kind so host-wide keys are reported as host-wide")
	}
	return nil
}

// Loader returns the profile loader for the shared flags.
func (g *Globals) Loader() *profiles.Loader {
	return &profiles.Loader{Dirs: g.ProfileDirs, Files: g.Files, StrictPerms: profiles.StrictPermsDefault()}
}

// JSON reports whether JSON output was asked for.
func (g *Globals) JSON() bool { return g.Output == "json" }
