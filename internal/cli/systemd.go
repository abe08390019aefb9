package cli

import (
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
over D-Bus; otherwise it writes the files and prints the systemctl commands.

'audit' prints the audit trail of applies, rollbacks, persists and reconcile
corrections kept in --state-dir (the journal has the same records:
journalctl TCPTUNE_KEY=net.core.somaxconn).`,
	}
	cmd.AddCommand(newSystemdInstallCmd(g), newSystemdUninstallCmd(g), newSystemdAuditCmd(g))
	return cmd
}

func newSystemdInstallCmd(g *Globals) *cobra.Command {
	var unitDir, mode, binary, textfile, stateDir, persistDir string
	var interval time.Duration
	var noPersist, now bool
	cmd := &cobra.Command{
		Use:   "install P... [--mode enforce|report] [--unit-dir DIR]",
		Short: "Write (and enable) tcptune-apply.service and tcptune-reconcile.service",
		Example: `  tcptune systemd install high-concurrency --now
  tcptune systemd install high-concurrency fail-fast --mode report --textfile /var/lib/node_exporter/textfile/tcptune.prom`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: profileArgs(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := reconcile.ParseMode(mode); err != nil {
				return withHint(err, "use --mode enforce or --mode report")
			}
			if _, err := g.resolveValid(args); err != nil {
				return err
			}
			c, err := unitConfig(g, args, binary, mode, interval, stateDir, persistDir, textfile, noPersist)
			if err != nil {
				return err
			}
			res, err := systemd.Install(cmdContext(cmd), systemd.InstallOptions{Config: c, UnitDir: unitDir, Start: now})
			switch {
			case err != nil && len(res.Units) == 0:
				return withHint(err, "pass absolute paths (--binary, --state-dir, --textfile), run as root, or pick another --unit-dir")
			case err != nil:
				printInstall(g, "installed", res)
				return withHint(err, "run: %s", joinCmds(systemd.EnableCommands([]string{systemd.ApplyUnit, systemd.ReconcileUnit})))
			}
			return printInstall(g, "installed", res)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&unitDir, "unit-dir", systemd.DefaultUnitDir, "directory to write the unit files to")
	fl.StringVar(&mode, "mode", string(reconcile.ModeEnforce), "reconcile mode: enforce or report")
	fl.DurationVar(&interval, "interval", 30*time.Second, "reconcile interval (WatchdogSec is 3 intervals, at least 30s)")
	fl.StringVar(&binary, "binary", "", "absolute path of tcptune in ExecStart (default: this executable)")
	fl.StringVar(&textfile, "textfile", "", "reconcile's Prometheus textfile (absolute path)")
	fl.StringVar(&stateDir, "state-dir", apply.DefaultStateDir, "state directory the units use")
	fl.StringVar(&persistDir, "persist-dir", apply.DefaultPersistDir, "sysctl.d directory the units persist to")
	fl.BoolVar(&noPersist, "no-persist", false, "the units apply without writing the sysctl.d file")
	fl.BoolVar(&now, "now", false, "also start the units (applies the profiles now)")
	return cmd
}

// unitConfig turns install's flags into the argument vectors of the units.
func unitConfig(g *Globals, args []string, binary, mode string, interval time.Duration, stateDir, persistDir, textfile string, noPersist bool) (systemd.UnitConfig, error) {
	if binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return systemd.UnitConfig{}, withHint(fmt.Errorf("cannot find this executable: %w", err), "pass --binary /usr/bin/tcptune")
		}
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		binary = exe
	}
	c := systemd.UnitConfig{Binary: binary, Mode: mode, Interval: interval, StateDir: stateDir}
	// Profiles given as files must be found at boot: make them absolute.
	for _, a := range args {
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
	tx := []string{"--state-dir", stateDir, "--persist-dir", persistDir}
	if noPersist {
		tx = append(tx, "--no-persist")
	} else {
		c.WritablePaths = append(c.WritablePaths, persistDir)
	}
	c.ApplyArgs = tx
	c.ReconcileArgs = append([]string{"--mode", mode, "--interval", interval.String()}, tx...)
	if textfile != "" {
		if !filepath.IsAbs(textfile) {
			return c, withHint(fmt.Errorf("--textfile %q is not an absolute path", textfile), "units run with / as working directory")
		}
		c.ReconcileArgs = append(c.ReconcileArgs, "--textfile", textfile)
		c.WritablePaths = append(c.WritablePaths, filepath.Dir(textfile))
	}
	return c, nil
}

func newSystemdUninstallCmd(g *Globals) *cobra.Command {
	var unitDir string
	cmd := &cobra.Command{
		Use:   "uninstall [--unit-dir DIR]",
		Short: "Stop, disable and remove tcptune's units (the applied values stay)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := systemd.Uninstall(cmdContext(cmd), unitDir, nil)
			if err != nil {
				return withHint(err, "run: systemctl disable --now %s %s", systemd.ReconcileUnit, systemd.ApplyUnit)
			}
			return printInstall(g, "removed", res)
		},
	}
	cmd.Flags().StringVar(&unitDir, "unit-dir", systemd.DefaultUnitDir, "directory holding the unit files")
	return cmd
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

func newSystemdAuditCmd(g *Globals) *cobra.Command {
	var stateDir, key, action string
	var last int
	var since time.Duration
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
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch a := systemd.Action(action); a {
			case "", systemd.ActionApply, systemd.ActionRollback, systemd.ActionPersist, systemd.ActionReconcile, systemd.ActionDrift:
			default:
				return withHint(fmt.Errorf("unknown --action %q", action), "allowed values: apply, rollback, persist, reconcile, drift")
			}
			f := systemd.AuditFilter{Action: systemd.Action(action), Last: last}
			if key != "" {
				k, err := sysctl.ParseKey(key)
				if err != nil {
					return err
				}
				f.Key = k.String()
			}
			if since > 0 {
				f.Since = time.Now().Add(-since)
			}
			recs, skipped, err := systemd.ReadAudit(filepath.Join(stateDir, systemd.AuditFileName), f)
			if err != nil {
				return withHint(err, "check --state-dir (%s)", stateDir)
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
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&stateDir, "state-dir", apply.DefaultStateDir, "state directory holding audit.jsonl")
	fl.StringVar(&key, "key", "", "only this key")
	fl.StringVar(&action, "action", "", "only this action: apply, rollback, persist, reconcile, drift")
	fl.IntVar(&last, "last", 0, "only the last N records")
	fl.DurationVar(&since, "since", 0, "only records newer than this (e.g. 24h)")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
