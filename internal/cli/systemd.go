package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tcptune/tcptune/apply"
	"github.com/tcptune/tcptune/reconcile"
	"github.com/tcptune/tcptune/sysctl"
	"github.com/tcptune/tcptune/systemd"
)

func newSystemdCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "systemd",
		Short: "Install the boot-time apply and the reconcile service; read the audit trail",
		Long: `Run tcptune under systemd.

'install' writes two units: tcptune-apply.service, a oneshot ordered after
systemd-sysctl.service that re-applies and verifies the profiles at boot (so a
later sysctl.d file cannot silently win), and tcptune-reconcile.service
(Type=notify, with a watchdog) that keeps them applied. When systemd runs as
PID 1 and --unit-dir is the default, it reloads systemd and enables the units
over D-Bus (through tcptune-ext, the companion binary, which has D-Bus;
uninstall too); otherwise it writes the files and prints the systemctl commands.

'audit' prints the audit trail of applies, rollbacks, persists and reconcile
corrections kept in --state-dir (the journal has the same records:
journalctl TCPTUNE_KEY=net.core.somaxconn).`,
	}
	cmd.AddCommand(newSystemdInstallCmd(g), newSystemdUninstallCmd(g), newSystemdAuditCmd(g))
	return cmd
}

// systemdInstallOptions: `tcptune systemd install P...`.
type systemdInstallOptions struct {
	g                                                     *Globals
	unitDir, mode, binary, textfile, stateDir, persistDir string
	interval                                              time.Duration
	noPersist, now                                        bool

	profiles []string
	config   systemd.UnitConfig // from Complete
}

func newSystemdInstallCmd(g *Globals) *cobra.Command {
	o := &systemdInstallOptions{g: g}
	cmd := &cobra.Command{
		Use:   "install P... [--mode enforce|report] [--unit-dir DIR]",
		Short: "Write (and enable) tcptune-apply.service and tcptune-reconcile.service",
		Example: `  tcptune systemd install high-concurrency --now
  tcptune systemd install high-concurrency fail-fast --mode report --textfile /var/lib/node_exporter/textfile/tcptune.prom`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: profileArgs(g),
		RunE:              runCommand(o),
	}
	fl := cmd.Flags()
	fl.StringVar(&o.unitDir, "unit-dir", systemd.DefaultUnitDir, "directory to write the unit files to")
	fl.StringVar(&o.mode, "mode", string(reconcile.ModeEnforce), "reconcile mode: enforce or report")
	fl.DurationVar(&o.interval, "interval", 30*time.Second, "reconcile interval (WatchdogSec is 3 intervals, at least 30s)")
	fl.StringVar(&o.binary, "binary", "", "absolute path of tcptune in ExecStart (default: this executable)")
	fl.StringVar(&o.textfile, "textfile", "", "reconcile's Prometheus textfile (absolute path)")
	fl.StringVar(&o.stateDir, "state-dir", apply.DefaultStateDir, "state directory the units use")
	fl.StringVar(&o.persistDir, "persist-dir", apply.DefaultPersistDir, "sysctl.d directory the units persist to")
	fl.BoolVar(&o.noPersist, "no-persist", false, "the units apply without writing the sysctl.d file")
	fl.BoolVar(&o.now, "now", false, "also start the units (applies the profiles now)")
	return cmd
}

// Complete finds this executable when --binary is not given.
func (o *systemdInstallOptions) Complete(_ *cobra.Command, args []string) error {
	o.profiles = args
	if o.binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return withHint(fmt.Errorf("cannot find this executable: %w", err), "pass --binary /usr/bin/tcptune")
		}
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		o.binary = exe
	}
	return nil
}

// Validate checks the mode, the profiles (they run at every boot) and the
// paths, and builds the units' configuration.
func (o *systemdInstallOptions) Validate() error {
	if _, err := reconcile.ParseMode(o.mode); err != nil {
		return withHint(err, "use --mode enforce or --mode report")
	}
	if _, err := o.g.resolveValid(o.profiles); err != nil {
		return err
	}
	c, err := o.unitConfig()
	if err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return withHint(err, "pass absolute paths (--binary, --state-dir, --textfile)")
	}
	o.config = c
	return nil
}

// Run installs through systemd.Install and prints what it did.
func (o *systemdInstallOptions) Run(ctx context.Context) error {
	if companionManages(o.unitDir) {
		// The units must start this binary, not the companion.
		return execExt(o.g, "systemd install (D-Bus)", "--binary", o.binary)
	}
	res, err := systemd.Install(ctx, systemd.InstallOptions{Config: o.config, UnitDir: o.unitDir, Start: o.now})
	switch {
	case err != nil && len(res.Units) == 0:
		return withHint(err, "run as root, or pick another --unit-dir")
	case err != nil:
		printInstall(o.g, "installed", res)
		return withHint(err, "run: %s", joinCmds(systemd.EnableCommands([]string{systemd.ApplyUnit, systemd.ReconcileUnit})))
	}
	return printInstall(o.g, "installed", res)
}

// unitConfig turns install's flags into the argument vectors of the units.
func (o *systemdInstallOptions) unitConfig() (systemd.UnitConfig, error) {
	g := o.g
	c := systemd.UnitConfig{Binary: o.binary, Mode: o.mode, Interval: o.interval, StateDir: o.stateDir}
	// Profiles given as files must be found at boot: make them absolute.
	for _, a := range o.profiles {
		if _, err := os.Stat(a); err == nil && (filepath.Ext(a) == ".yaml" || filepath.Ext(a) == ".yml") {
			if abs, err := filepath.Abs(a); err == nil {
				a = abs
			}
		}
		c.Profiles = append(c.Profiles, a)
	}
	if g.SysctlRoot != sysctl.DefaultRoot {
		c.CommonArgs = append(c.CommonArgs, "--sysctl-root", g.SysctlRoot)
	}
	if len(g.ProfileDirs) != 1 || g.ProfileDirs[0] != DefaultProfileDir {
		for _, d := range g.ProfileDirs {
			abs, _ := filepath.Abs(d)
			c.CommonArgs = append(c.CommonArgs, "--profile-dir", abs)
		}
	}
	for _, f := range g.Files {
		abs, _ := filepath.Abs(f)
		c.CommonArgs = append(c.CommonArgs, "-f", abs)
	}
	tx := []string{"--state-dir", o.stateDir, "--persist-dir", o.persistDir}
	if o.noPersist {
		tx = append(tx, "--no-persist")
	} else {
		c.WritablePaths = append(c.WritablePaths, o.persistDir)
	}
	c.ApplyArgs = tx
	c.ReconcileArgs = append([]string{"--mode", o.mode, "--interval", o.interval.String()}, tx...)
	if o.textfile != "" {
		if !filepath.IsAbs(o.textfile) {
			return c, withHint(fmt.Errorf("--textfile %q is not an absolute path", o.textfile), "units run with / as working directory")
		}
		c.ReconcileArgs = append(c.ReconcileArgs, "--textfile", o.textfile)
		c.WritablePaths = append(c.WritablePaths, filepath.Dir(o.textfile))
	}
	return c, nil
}

// systemdUninstallOptions: `tcptune systemd uninstall`.
type systemdUninstallOptions struct {
	g       *Globals
	unitDir string
}

func newSystemdUninstallCmd(g *Globals) *cobra.Command {
	o := &systemdUninstallOptions{g: g}
	cmd := &cobra.Command{
		Use:   "uninstall [--unit-dir DIR]",
		Short: "Stop, disable and remove tcptune's units (the applied values stay)",
		Args:  cobra.NoArgs,
		RunE:  runCommand(o),
	}
	cmd.Flags().StringVar(&o.unitDir, "unit-dir", systemd.DefaultUnitDir, "directory holding the unit files")
	return cmd
}

func (o *systemdUninstallOptions) Complete(*cobra.Command, []string) error { return nil }
func (o *systemdUninstallOptions) Validate() error                         { return nil }

func (o *systemdUninstallOptions) Run(ctx context.Context) error {
	if companionManages(o.unitDir) {
		return execExt(o.g, "systemd uninstall (D-Bus)")
	}
	res, err := systemd.Uninstall(ctx, o.unitDir, nil)
	if err != nil {
		return withHint(err, "run: systemctl disable --now %s %s", systemd.ReconcileUnit, systemd.ApplyUnit)
	}
	return printInstall(o.g, "removed", res)
}

func printInstall(g *Globals, verb string, res *systemd.InstallResult) error {
	if g.JSON() {
		return writeJSON(g.Stdout, res)
	}
	for _, u := range res.Units {
		fmt.Fprintf(g.Stdout, "%s %s\n", verb, u)
	}
	if len(res.Units) == 0 {
		fmt.Fprintln(g.Stdout, "nothing to do")
	}
	if res.Enabled {
		fmt.Fprintln(g.Stdout, "enabled through systemd")
	}
	if res.Started {
		fmt.Fprintln(g.Stdout, "started")
	}
	if len(res.Commands) > 0 {
		fmt.Fprintln(g.Stdout, "systemd was not reached; run:")
		for _, c := range res.Commands {
			fmt.Fprintf(g.Stdout, "  %s\n", c)
		}
	}
	return nil
}

func joinCmds(cs []string) string {
	out := ""
	for i, c := range cs {
		if i > 0 {
			out += " && "
		}
		out += c
	}
	return out
}

// systemdAuditOptions: `tcptune systemd audit`.
type systemdAuditOptions struct {
	g                     *Globals
	stateDir, key, action string
	last                  int
	since                 time.Duration

	filter systemd.AuditFilter // from Complete and Validate
}

func newSystemdAuditCmd(g *Globals) *cobra.Command {
	o := &systemdAuditOptions{g: g}
	cmd := &cobra.Command{
		Use:   "audit [--key K] [--action A] [--last N]",
		Short: "Who changed which key and when: the audit trail kept in --state-dir",
		Long: `Print the audit records of applies, rollbacks, persists, reconcile corrections
and drift, oldest first. They are kept in --state-dir/audit.jsonl whether or
not journald runs; with journald, 'journalctl TCPTUNE_KEY=KEY' shows the same
records with the journal's trusted fields (_UID, _COMM, _SYSTEMD_UNIT).`,
		Example: `  tcptune systemd audit --key net.core.somaxconn
  tcptune systemd audit --action reconcile --last 20 -o json`,
		Args: cobra.NoArgs,
		RunE: runCommand(o),
	}
	fl := cmd.Flags()
	fl.StringVar(&o.stateDir, "state-dir", apply.DefaultStateDir, "state directory holding audit.jsonl")
	fl.StringVar(&o.key, "key", "", "only this key")
	fl.StringVar(&o.action, "action", "", "only this action: apply, rollback, persist, reconcile, drift")
	fl.IntVar(&o.last, "last", 0, "only the last N records")
	fl.DurationVar(&o.since, "since", 0, "only records newer than this (e.g. 24h)")
	return cmd
}

func (o *systemdAuditOptions) Complete(*cobra.Command, []string) error {
	o.filter = systemd.AuditFilter{Action: systemd.Action(o.action), Last: o.last}
	if o.since > 0 {
		o.filter.Since = time.Now().Add(-o.since)
	}
	return nil
}

func (o *systemdAuditOptions) Validate() error {
	switch systemd.Action(o.action) {
	case "", systemd.ActionApply, systemd.ActionRollback, systemd.ActionPersist, systemd.ActionReconcile, systemd.ActionDrift:
	default:
		return withHint(fmt.Errorf("unknown --action %q", o.action), "allowed values: apply, rollback, persist, reconcile, drift")
	}
	if o.key != "" {
		k, err := sysctl.ParseKey(o.key)
		if err != nil {
			return err
		}
		o.filter.Key = k.String()
	}
	return nil
}

func (o *systemdAuditOptions) Run(context.Context) error {
	g := o.g
	recs, skipped, err := systemd.ReadAudit(filepath.Join(o.stateDir, systemd.AuditFileName), o.filter)
	if err != nil {
		return withHint(err, "check --state-dir (%s)", o.stateDir)
	}
	if skipped > 0 {
		fmt.Fprintf(g.Stderr, "tcptune: warning: %d unreadable audit line(s) skipped (a write cut by a crash)\n", skipped)
	}
	if recs == nil {
		recs = []systemd.Record{}
	}
	if g.JSON() {
		return writeJSON(g.Stdout, recs)
	}
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTION\tKEY\tBEFORE\tAFTER\tPROFILE\tTRANSACTION\tACTOR")
	for _, r := range recs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Time.Local().Format("2006-01-02 15:04:05"),
			r.Action, r.Key, dash(r.Before), dash(r.After), dash(r.Profile), dash(r.Transaction), dash(r.Actor))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// companionManages reports whether this run must talk to systemd over D-Bus
// (the real unit directory, systemd PID 1) in a build without it: the
// tcptune binary leaves D-Bus to tcptune-ext (systemd/manager_dbus.go), and
// runs it with the same arguments before writing anything.
func companionManages(unitDir string) bool {
	return !extBuilt && unitDir == systemd.DefaultUnitDir && systemd.Booted()
}
