//go:build tcptune_ext

package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/google/renameio/v2"
	"github.com/spf13/cobra"

	"github.com/tcptune/tcptune/lab"
)

// extBuilt reports whether this build has the companion's commands (ext.go).
const extBuilt = true

// labFlags are shared by `lab run` and `lab all`.
type labFlags struct {
	Profile string
	Clients int
	Runs    int
	Verbose bool
	SVGDir  string
}

func newLabCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Reproduce each failure in a throwaway network namespace and measure a profile's effect",
		Long: `Reproduce, on this machine and without touching its settings, the failures
the built-in profiles address, and measure each profile before and after.

Every run creates a private network namespace (it disappears with the run),
checks that it is not the namespace tcptune started in, sets the scenario's
documented "before" state there, runs the workload, applies the profile with
tcptune's own transactional apply inside the namespace, starts the server
again and repeats the workload. Needs root (CAP_SYS_ADMIN) for the namespace.`,
		Example: `  sudo tcptune lab list
  sudo tcptune lab run burst-resets
  sudo tcptune lab run burst-resets --clients 300 --runs 3 -o json
  sudo tcptune lab all --markdown docs/lab-results.md --json docs/lab-results.json`,
	}
	cmd.AddCommand(newLabListCmd(g), newLabRunCmd(g), newLabAllCmd(g), newLabChildCmd(g))
	return cmd
}

// labListOptions: `tcptune lab list`.
type labListOptions struct{ g *Globals }

func newLabListCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the lab scenarios",
		Args:  cobra.NoArgs,
		RunE:  runCommand(&labListOptions{g: g}),
	}
}

func (o *labListOptions) Complete(*cobra.Command, []string) error { return nil }
func (o *labListOptions) Validate() error                         { return nil }

func (o *labListOptions) Run(context.Context) error {
	g := o.g
	scs := lab.Scenarios()
	if g.JSON() {
		return writeJSON(g.Stdout, scs)
	}
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tPROFILE\tCLIENTS\tNEEDS\tSUMMARY")
	for _, s := range scs {
		needs := "-"
		if len(s.Needs) > 0 {
			needs = fmt.Sprint(s.Needs)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", s.Name, s.Profile, s.Clients, needs, s.Summary)
	}
	return tw.Flush()
}

// labRunOptions: `tcptune lab run SCENARIO`.
type labRunOptions struct {
	g  *Globals
	f  labFlags
	sc *lab.Scenario // from Validate
}

func newLabRunCmd(g *Globals) *cobra.Command {
	o := &labRunOptions{g: g}
	cmd := &cobra.Command{
		Use:   "run SCENARIO",
		Short: "Run one scenario before and after a profile (see 'tcptune lab list')",
		Long: `Run one scenario before and after a profile and print a before/after table
with the kernel counters that explain it. With -o json the report is
{"scenario", "profile", "runs": [...], "before": {...}, "after": {...}},
counts summed over runs.

Exit status: 0 measured, 1 error (no private namespace, a missing program,
a failed run).`,
		Args: cobra.ExactArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			var names []string
			for _, s := range lab.Scenarios() {
				names = append(names, s.Name)
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: runCommand(o),
	}
	o.f.register(cmd)
	return cmd
}

func (o *labRunOptions) Complete(_ *cobra.Command, args []string) error {
	sc, ok := lab.Lookup(args[0])
	if !ok {
		return withHint(fmt.Errorf("unknown lab scenario %q", args[0]), "see 'tcptune lab list'")
	}
	o.sc = sc
	return nil
}

// Validate refuses a scenario whose program (nginx, hping3) is missing.
func (o *labRunOptions) Validate() error {
	if m := o.sc.Missing(); m != "" {
		return withHint(fmt.Errorf("lab scenario %s needs %s, which is not installed", o.sc.Name, m), "%s", lab.InstallHint(m))
	}
	return nil
}

func (o *labRunOptions) Run(ctx context.Context) error {
	rep, err := runLabScenario(ctx, o.g, o.sc, o.f)
	if err != nil {
		return err
	}
	if o.g.JSON() {
		return writeJSON(o.g.Stdout, rep)
	}
	return rep.WriteText(o.g.Stdout)
}

// labAllOptions: `tcptune lab all` (make lab).
type labAllOptions struct {
	g              *Globals
	f              labFlags
	md, js, readme string
}

func newLabAllCmd(g *Globals) *cobra.Command {
	o := &labAllOptions{g: g}
	cmd := &cobra.Command{
		Use:   "all",
		Short: "Run every scenario and write the results (make lab)",
		Long: `Run every scenario with its own profile and write the results as Markdown
(--markdown) and JSON (--json). A scenario whose program (nginx, hping3) is
missing is recorded as skipped.

--readme FILE rewrites the lines between the marker lines
` + lab.ReadmeBegin + ` and ` + lab.ReadmeEnd + ` in FILE with a
short summary table (the headline metric of each scenario before and after,
the date, kernel and runs). The markers are checked before any lab runs:
missing, duplicated or out of order, nothing runs and nothing is written.
Every file is written through a temporary file and a rename.`,
		Args: cobra.NoArgs,
		RunE: runCommand(o),
	}
	o.f.register(cmd)
	cmd.Flags().StringVar(&o.readme, "readme", "", "rewrite the summary between the lab-results markers in FILE (README.md)")
	cmd.Flags().StringVar(&o.md, "markdown", "", "write the results as Markdown to FILE (docs/lab-results.md)")
	cmd.Flags().StringVar(&o.js, "json", "", "write the results as JSON to FILE (docs/lab-results.json)")
	return cmd
}

func (o *labAllOptions) Complete(*cobra.Command, []string) error { return nil }

// Validate refuses --profile, and a README without its markers now, not
// after minutes of labs.
func (o *labAllOptions) Validate() error {
	if o.f.Profile != "" {
		return withHint(errors.New("--profile does not apply to 'lab all'"), "each scenario uses its own profile; use 'lab run SCENARIO --profile P'")
	}
	if o.readme != "" {
		if _, err := readReadme(o.readme); err != nil {
			return err
		}
	}
	return nil
}

// Run runs every scenario, then writes the results (each file through a
// temporary file and a rename).
func (o *labAllOptions) Run(ctx context.Context) error {
	g, f, md, js, readme := o.g, o.f, o.md, o.js, o.readme
	var reps []*lab.Report
	for _, sc := range lab.Scenarios() {
		fmt.Fprintf(g.Stderr, "tcptune: lab: running %s...\n", sc.Name)
		rep, err := runLabScenario(ctx, g, sc, f)
		if err != nil {
			return err
		}
		reps = append(reps, rep)
		if !g.JSON() {
			if err := rep.WriteText(g.Stdout); err != nil {
				return err
			}
			fmt.Fprintln(g.Stdout)
		}
	}
	// Render the README before writing anything, and from the file as it
	// is now (it may have been edited while the labs ran), so a README
	// that lost its markers leaves every file as it was.
	var readmeDoc []byte
	if readme != "" {
		doc, err := readReadme(readme)
		if err != nil {
			return err
		}
		if readmeDoc, err = lab.ReadmeWithSummary(doc, reps); err != nil {
			return fmt.Errorf("%s: %w", readme, err)
		}
	}
	if md != "" {
		if err := writeFileWith(md, func(fl *os.File) error { return lab.WriteResultsDoc(fl, reps, max(f.Runs, 1)) }); err != nil {
			return err
		}
	}
	if js != "" {
		if err := writeFileWith(js, func(fl *os.File) error { return writeJSON(fl, reps) }); err != nil {
			return err
		}
	}
	if readme != "" {
		if err := writeFileWith(readme, func(fl *os.File) error { _, err := fl.Write(readmeDoc); return err }); err != nil {
			return err
		}
	}
	if g.JSON() {
		return writeJSON(g.Stdout, reps)
	}
	return nil
}

// newLabChildCmd is the re-executed child of a lab run: it reads its request
// on stdin, runs inside the fresh namespace and answers on stdout.
func newLabChildCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:    "__child",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE:   runCommand(&labChildOptions{g: g}),
	}
}

// labChildOptions: the hidden `tcptune lab __child`.
type labChildOptions struct{ g *Globals }

func (o *labChildOptions) Complete(*cobra.Command, []string) error { return nil }

func (o *labChildOptions) Validate() error {
	if !lab.IsChild() {
		return errors.New("lab __child is internal to 'tcptune lab run'")
	}
	return nil
}

func (o *labChildOptions) Run(context.Context) error {
	if code := lab.ChildMain(o.g.Stdin, o.g.Stdout, o.g.Stderr); code != 0 {
		return withExit(code)
	}
	return nil
}

func (f *labFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.Profile, "profile", "", "profile to apply between the phases (default: the scenario's own)")
	fl.IntVar(&f.Clients, "clients", 0, "client attempts per phase (default: the scenario's own)")
	fl.IntVar(&f.Runs, "runs", 1, "runs, each in a fresh namespace; counts are summed")
	fl.BoolVarP(&f.Verbose, "verbose", "v", false, "print each run's progress on stderr")
	fl.StringVar(&f.SVGDir, "svg-dir", "", "also draw each scenario's latency distribution and listener queue as SVG in DIR (lab-SCENARIO-latency.svg, lab-SCENARIO-queue.svg)")
}

func runLabScenario(ctx context.Context, g *Globals, sc *lab.Scenario, f labFlags) (*lab.Report, error) {
	if f.Clients < 0 || f.Runs < 1 || f.Runs > 100 {
		return nil, withHint(fmt.Errorf("invalid --clients %d / --runs %d", f.Clients, f.Runs), "--clients >= 0, 1 <= --runs <= 100")
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	profile := f.Profile
	if profile == "" {
		profile = sc.Profile
	}
	res, err := g.resolveValid([]string{profile})
	if err != nil {
		return nil, err
	}
	opts := lab.Options{Scenario: sc.Name, Resolved: res, Clients: f.Clients, Runs: f.Runs,
		Log: g.Stderr, Verbose: f.Verbose}
	if isTerminal(g.Stderr) && !f.Verbose {
		opts.Progress = func(run, runs int, elapsed time.Duration, done bool) {
			if done {
				fmt.Fprint(g.Stderr, "\r\033[K")
				return
			}
			fmt.Fprintf(g.Stderr, "\r%s: run %d of %d, %.0fs ", sc.Name, run, runs, elapsed.Seconds())
		}
	}
	rep, err := lab.Run(ctx, opts)
	if errors.Is(err, lab.ErrNoNetns) {
		return nil, withHint(err, "the lab needs root (CAP_SYS_ADMIN) to create a network namespace: sudo tcptune lab run %s", sc.Name)
	}
	if err == nil && f.SVGDir != "" && rep.Skipped == "" {
		err = writeLabSVGs(f.SVGDir, rep)
	}
	return rep, err
}

// writeLabSVGs draws rep's pictures into dir.
func writeLabSVGs(dir string, rep *lab.Report) error {
	base := filepath.Join(dir, "lab-"+rep.Scenario)
	if err := writeFileWith(base+"-latency.svg", func(fl *os.File) error { return rep.WriteLatencySVG(fl) }); err != nil {
		return err
	}
	if len(rep.Before.Queue)+len(rep.After.Queue) == 0 {
		return nil // no listener on the lab port in this scenario
	}
	return writeFileWith(base+"-queue.svg", func(fl *os.File) error { return rep.WriteQueueSVG(fl) })
}

// readReadme reads the --readme file and checks its markers.
func readReadme(path string) ([]byte, error) {
	doc, err := os.ReadFile(path)
	if err != nil {
		return nil, withHint(fmt.Errorf("--readme: %w", err), "point --readme at the README that holds the lab-results markers")
	}
	if err := lab.CheckMarkers(doc); err != nil {
		return nil, withHint(fmt.Errorf("%s: %w", path, err),
			"put the two lines %s and %s, in that order, where the summary goes", lab.ReadmeBegin, lab.ReadmeEnd)
	}
	return doc, nil
}

// writeFileWith writes path through renameio (temp file in the same
// directory, fsync, rename), so a failed run never leaves half a file.
func writeFileWith(path string, fn func(*os.File) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	t, err := renameio.NewPendingFile(path, renameio.WithPermissions(0o644), renameio.WithTempDir(filepath.Dir(path)))
	if err != nil {
		return err
	}
	defer t.Cleanup()
	if err := fn(t.File); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return t.CloseAtomicallyReplace()
}
