package systemd

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/unit"
)

// Unit names tcptune installs.
const (
	ApplyUnit     = "tcptune-apply.service"
	ReconcileUnit = "tcptune-reconcile.service"
)

// DefaultUnitDir is where administrators' units live (systemd.unit(5)).
const DefaultUnitDir = "/etc/systemd/system"

// UnitConfig describes the units to generate. It holds argument vectors,
// not tcptune's flag types, so this package stays a leaf: the CLI decides
// which flags go where.
type UnitConfig struct {
	Binary   string   // absolute path of the tcptune executable
	Profiles []string // profile names or files, as given to apply
	// CommonArgs go to every command (e.g. --profile-dir, -f FILE).
	CommonArgs []string
	// ApplyArgs go to apply only (e.g. --state-dir, --no-persist).
	ApplyArgs []string
	// ReconcileArgs go to reconcile only (--mode, --interval, --textfile and
	// apply's flags).
	ReconcileArgs []string
	// Mode is enforce or report, for the description.
	Mode string
	// Interval is reconcile's interval; the watchdog is derived from it.
	Interval time.Duration
	// StateDir must be writable by both units.
	StateDir string
	// WritablePaths are extra paths reconcile writes (the sysctl.d
	// directory when persisting, the textfile's directory). Missing ones
	// are tolerated ("-" prefix).
	WritablePaths []string
}

// Validate checks what would make a unit file wrong or unsafe.
func (c UnitConfig) Validate() error {
	if !filepath.IsAbs(c.Binary) {
		return fmt.Errorf("tcptune binary %q is not an absolute path; systemd needs one in ExecStart", c.Binary)
	}
	if len(c.Profiles) == 0 {
		return errors.New("no profile given")
	}
	if c.Interval <= 0 {
		return fmt.Errorf("interval %v must be positive", c.Interval)
	}
	if !filepath.IsAbs(c.StateDir) {
		return fmt.Errorf("state directory %q is not an absolute path", c.StateDir)
	}
	for _, p := range c.WritablePaths {
		if !filepath.IsAbs(p) || strings.ContainsAny(p, " \t\n\"'\\%$") {
			return fmt.Errorf("writable path %q must be absolute and free of spaces, quotes and specifiers", p)
		}
	}
	all := append(append(append(append([]string{c.Binary}, c.Profiles...), c.CommonArgs...), c.ApplyArgs...), c.ReconcileArgs...)
	for _, a := range all {
		if strings.ContainsAny(a, "\n\r\x00") {
			return fmt.Errorf("argument %q contains a line break or NUL, which cannot go into a unit file", a)
		}
	}
	return nil
}

// WatchdogSec is three intervals, at least 30 s: one slow pass (a stuck
// /proc read, a held lock) must not get the service killed, a hung one must.
func (c UnitConfig) WatchdogSec() time.Duration {
	return max(3*c.Interval, 30*time.Second)
}

// ApplyUnitOptions is the oneshot that re-asserts the profile at boot and
// verifies it. It runs after systemd-sysctl.service, so every sysctl.d file
// has been applied and cannot silently win over the profile, and before
// network-pre.target, so services that listen() later see the values.
func ApplyUnitOptions(c UnitConfig) []*unit.UnitOption {
	u := "Unit"
	opts := []*unit.UnitOption{
		unit.NewUnitOption(u, "Description", escapeSpecifiers("tcptune: apply and verify network profile "+strings.Join(c.Profiles, " "))),
		// tcptune's own pages: the package installs them (boottest checks
		// each with dpkg -S); systemd's may be absent on a minimal host.
		unit.NewUnitOption(u, "Documentation", "man:tcptune-apply(8) man:tcptune-diff(8) man:tcptune-systemd-install(8)"),
		// Early boot: no implicit After=basic.target, which would come
		// after network-pre.target on some hosts and make a cycle.
		unit.NewUnitOption(u, "DefaultDependencies", "no"),
		unit.NewUnitOption(u, "After", "systemd-sysctl.service systemd-modules-load.service local-fs.target"),
		unit.NewUnitOption(u, "Before", "network-pre.target shutdown.target"),
		unit.NewUnitOption(u, "Wants", "network-pre.target"),
		unit.NewUnitOption(u, "Conflicts", "shutdown.target"),
		unit.NewUnitOption(u, "RequiresMountsFor", c.StateDir),
	}
	s := "Service"
	opts = append(opts,
		unit.NewUnitOption(s, "Type", "oneshot"),
		unit.NewUnitOption(s, "RemainAfterExit", "yes"),
		unit.NewUnitOption(s, "ExecStart", execLine(c.Binary, "apply", c.Profiles, c.CommonArgs, c.ApplyArgs)),
		// Verify: diff exits 2 on drift, which fails the unit, so
		// `systemctl status tcptune-apply` shows a profile that did not hold.
		unit.NewUnitOption(s, "ExecStartPost", execLine(c.Binary, "diff", c.Profiles, c.CommonArgs, nil)),
	)
	// AF_NETLINK: after raising somaxconn, apply lists the listeners to
	// restart through inet_diag (NETLINK_SOCK_DIAG).
	opts = append(opts, hardening(c, "AF_UNIX AF_NETLINK")...)
	opts = append(opts, unit.NewUnitOption("Install", "WantedBy", "multi-user.target"))
	return opts
}

// ReconcileUnitOptions is the long-running reconcile service.
func ReconcileUnitOptions(c UnitConfig) []*unit.UnitOption {
	mode := c.Mode
	if mode == "" {
		mode = "enforce"
	}
	u := "Unit"
	opts := []*unit.UnitOption{
		unit.NewUnitOption(u, "Description", escapeSpecifiers(fmt.Sprintf("tcptune: reconcile network profile %s (%s)", strings.Join(c.Profiles, " "), mode))),
		unit.NewUnitOption(u, "Documentation", "man:tcptune-reconcile(8) man:tcptune-systemd-install(8)"),
		unit.NewUnitOption(u, "After", ApplyUnit+" network-pre.target"),
		unit.NewUnitOption(u, "Wants", ApplyUnit),
	}
	s := "Service"
	opts = append(opts,
		unit.NewUnitOption(s, "Type", "notify"),
		unit.NewUnitOption(s, "NotifyAccess", "main"),
		unit.NewUnitOption(s, "ExecStart", execLine(c.Binary, "reconcile", c.Profiles, c.CommonArgs, c.ReconcileArgs)),
		unit.NewUnitOption(s, "WatchdogSec", fmt.Sprintf("%ds", int(c.WatchdogSec().Round(time.Second)/time.Second))),
		unit.NewUnitOption(s, "Restart", "on-failure"),
		unit.NewUnitOption(s, "RestartSec", "5s"),
		unit.NewUnitOption(s, "TimeoutStopSec", "30s"),
	)
	// AF_UNIX: journald and sd_notify; reconcile lists no listeners.
	opts = append(opts, hardening(c, "AF_UNIX")...)
	opts = append(opts, unit.NewUnitOption("Install", "WantedBy", "multi-user.target"))
	return opts
}

// hardening confines both services while leaving what tcptune needs:
// writing /proc/sys/net, its state directory and the persisted file, and
// the socket families given.
func hardening(c UnitConfig, families string) []*unit.UnitOption {
	s := "Service"
	rw := []string{c.StateDir}
	for _, p := range c.WritablePaths {
		rw = append(rw, "-"+p)
	}
	return []*unit.UnitOption{
		// ProtectSystem=strict leaves /proc writable; /proc/sys is
		// protected only by ProtectKernelTunables=, which must stay off:
		// writing it is this service's job.
		unit.NewUnitOption(s, "ProtectSystem", "strict"),
		unit.NewUnitOption(s, "ProtectKernelTunables", "no"),
		unit.NewUnitOption(s, "ReadWritePaths", strings.Join(rw, " ")),
		// Never PrivateNetwork=: the service would tune an empty private
		// network namespace and report success.
		unit.NewUnitOption(s, "PrivateNetwork", "no"),
		unit.NewUnitOption(s, "ProtectHome", "yes"),
		unit.NewUnitOption(s, "PrivateTmp", "yes"),
		unit.NewUnitOption(s, "PrivateDevices", "yes"),
		unit.NewUnitOption(s, "ProtectKernelModules", "yes"),
		unit.NewUnitOption(s, "ProtectKernelLogs", "yes"),
		unit.NewUnitOption(s, "ProtectControlGroups", "yes"),
		unit.NewUnitOption(s, "ProtectClock", "yes"),
		unit.NewUnitOption(s, "ProtectHostname", "yes"),
		unit.NewUnitOption(s, "NoNewPrivileges", "yes"),
		unit.NewUnitOption(s, "RestrictNamespaces", "yes"),
		unit.NewUnitOption(s, "RestrictRealtime", "yes"),
		unit.NewUnitOption(s, "RestrictSUIDSGID", "yes"),
		unit.NewUnitOption(s, "LockPersonality", "yes"),
		unit.NewUnitOption(s, "MemoryDenyWriteExecute", "yes"),
		unit.NewUnitOption(s, "SystemCallArchitectures", "native"),
		unit.NewUnitOption(s, "SystemCallFilter", "@system-service"),
		unit.NewUnitOption(s, "RestrictAddressFamilies", families),
		// Root writes /proc/sys/net files by owner mode; CAP_NET_ADMIN
		// covers keys whose handlers check it (net_ctl_permissions,
		// net/sysctl_net.c).
		unit.NewUnitOption(s, "CapabilityBoundingSet", "CAP_NET_ADMIN"),
	}
}

// escapeSpecifiers doubles %, which Description= expands as a specifier.
func escapeSpecifiers(s string) string { return strings.ReplaceAll(s, "%", "%%") }

// execLine builds an ExecStart= value, quoting every argument.
func execLine(bin, verb string, profiles, common, extra []string) string {
	args := append([]string{bin, verb}, profiles...)
	args = append(args, common...)
	args = append(args, extra...)
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = quoteExecArg(a)
	}
	return strings.Join(q, " ")
}

// quoteExecArg quotes one argument for systemd's command-line syntax
// (systemd.service(5), "Command lines"): specifiers (%) and variable
// expansion ($) are escaped by doubling, anything else unusual is put in
// double quotes with C escapes.
func quoteExecArg(a string) string {
	a = strings.NewReplacer("%", "%%", "$", "$$").Replace(a)
	safe := a != ""
	for _, r := range a {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,+@%$", r)) {
			safe = false
			break
		}
	}
	if safe {
		return a
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(a) + `"`
}

// Render serialises unit options to unit-file text with a header naming
// the generator.
func Render(opts []*unit.UnitOption) ([]byte, error) {
	body, err := io.ReadAll(unit.Serialize(opts))
	if err != nil {
		return nil, err
	}
	head := "# Generated by `tcptune systemd install`; regenerate rather than edit.\n"
	return append([]byte(head), body...), nil
}

// Units renders both unit files, keyed by name.
func Units(c UnitConfig) (map[string][]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for name, opts := range map[string][]*unit.UnitOption{
		ApplyUnit:     ApplyUnitOptions(c),
		ReconcileUnit: ReconcileUnitOptions(c),
	} {
		b, err := Render(opts)
		if err != nil {
			return nil, fmt.Errorf("render %s: %w", name, err)
		}
		out[name] = b
	}
	return out, nil
}
