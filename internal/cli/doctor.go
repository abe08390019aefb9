package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/tcptune/tcptune/apply"
	"github.com/tcptune/tcptune/doctor"
	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/sysctl"
	"github.com/tcptune/tcptune/validate"
)

// doctorOptions are the doctor's own flags (Complete / Validate / Run, as
// every command).
type doctorOptions struct {
	g        *Globals
	cmd      *cobra.Command // for the context and the flags Run looks at
	interval time.Duration
	once     bool
	procRoot string
	netns    string
	allNetns bool
	stateDir string
	trace    traceOptions
}

func newDoctorCmd(g *Globals) *cobra.Command {
	o := &doctorOptions{g: g}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Diagnose connection drops and resets from kernel counters and listener queues",
		Long: `Read the kernel's own evidence (TcpExt and Tcp counters, sockstat, softnet_stat,
and the accept queue of every listening socket) and say what is overflowing,
on which listener, which profile or key fixes it, and what must be restarted.

--all-netns does this for every network namespace on the machine that has
listeners (found from /proc/*/ns/net and /run/netns, each once): each with its
own somaxconn, counters and listener queues, and its owner (pod, container,
machine, systemd unit or process, from the cgroup path). A new namespace
starts from kernel defaults, not from the host's values: for a listener in
another namespace the fix says so and targets that namespace.

By default two readings are taken --interval apart, so findings rest on what is
happening now rather than on counters accumulated since boot; --once reads
once and reports the since-boot totals. Counters are judged against the
values in force when they were counted: when tcptune changed a key they
concern inside the window (its transaction records in --state-dir, read
only), the finding names the change and does not blame the current value.

--trace DURATION watches every TCP reset the kernel sends or receives instead
(BPF, root) and prints one row per cause, network namespace and local endpoint:
accept-queue overflow, keepalive race, close with unread data, linger, no
listener, listener closed with a queue, memory pressure, keepalive timeout,
resets received from the other side, each with the fix. -o prometheus (and --textfile) give per-cause counts.

Exit status: 0 healthy, 2 findings, 3 unknown (a source could not be read
and nothing was found: not healthy), 1 error. With --all-netns: 2 when any
namespace has findings, else 3 when a namespace is unknown or could not be
read, else 0. With --trace: 0 no resets,
2 resets seen, 1 tracing impossible (privilege, kernel).`,
		Example: `  tcptune doctor
  tcptune doctor --interval 30s -o json
  tcptune doctor --once
  tcptune doctor --netns myns              # ip netns name, PID, or /proc/PID/ns/net
  tcptune doctor --all-netns --once        # every namespace with listeners: pods, containers, ip netns
  tcptune doctor --trace 30s               # name the cause of every reset
  tcptune doctor --trace 1m -o json`,
		Annotations: map[string]string{"outputs": "text,json,prometheus"},
		Args:        cobra.NoArgs,
		RunE:        runCommand(o),
	}
	f := cmd.Flags()
	f.DurationVar(&o.interval, "interval", doctor.DefaultInterval, "time between the two readings")
	f.BoolVar(&o.once, "once", false, "read once and report counters accumulated since boot")
	f.StringVar(&o.procRoot, "proc-root", doctor.DefaultProcRoot, "proc mount to read net/* from (a fixture tree for tests)")
	f.BoolVar(&o.allNetns, "all-netns", false, "diagnose every network namespace that has listeners (needs root)")
	f.StringVar(&o.stateDir, "state-dir", apply.DefaultStateDir, "tcptune's state directory, read only: since-boot counters are judged against the values in force when they were counted (with --netns NAME: STATE/netns/NAME)")
	f.StringVar(&o.netns, "netns", "", "diagnose another network namespace: an ip netns NAME, a PID, or a PATH such as /proc/PID/ns/net")
	addTraceFlags(cmd, &o.trace)
	return cmd
}

func (o *doctorOptions) Complete(cmd *cobra.Command, _ []string) error {
	o.cmd = cmd
	return nil
}

// Validate refuses flags that cannot go together.
func (o *doctorOptions) Validate() error {
	if o.cmd != nil && o.cmd.Flags().Changed("trace") {
		return nil // doctor --trace checks its own flags (doctor_trace.go)
	}
	switch {
	case o.g.Output == "prometheus" || o.trace.textfile != "":
		return withHint(fmt.Errorf("-o prometheus and --textfile need --trace"), "tcptune doctor --trace 30s -o prometheus")
	case !o.once && o.interval <= 0:
		return withHint(fmt.Errorf("--interval must be positive, got %s", o.interval), "use --once for the since-boot view")
	case o.allNetns && o.netns != "":
		return withHint(errors.New("--all-netns and --netns exclude each other"), "drop one of them")
	case o.allNetns && o.procRoot != doctor.DefaultProcRoot:
		return withHint(fmt.Errorf("--all-netns reads the live %s, not --proc-root %s", doctor.DefaultProcRoot, o.procRoot), "drop --proc-root")
	}
	return nil
}

// Run samples (package doctor), analyses and prints; exit 2 on findings.
func (o *doctorOptions) Run(context.Context) error { return runDoctor(o.cmd, o.g, o) }

func runDoctor(cmd *cobra.Command, g *Globals, o *doctorOptions) error {
	if cmd.Flags().Changed("trace") {
		return runDoctorTrace(cmd, g, o)
	}
	if o.allNetns {
		return runDoctorAll(cmd, g, o)
	}
	opts := doctor.Options{
		Source:   doctor.Source{ProcRoot: o.procRoot, Sysctl: g.FS()},
		Interval: o.interval,
		Once:     o.once,
	}
	// netlink answers for the live kernel: only pair it with the live /proc.
	if o.procRoot == doctor.DefaultProcRoot {
		opts.Source.Listeners = doctor.LiveListeners
		opts.Source.Connecting = doctor.LiveConnecting
		opts.Source.GateConnecting = true
	}
	if o.netns != "" {
		t, err := netns.Resolve(o.netns)
		if err != nil {
			return withHint(err, "give an ip netns name (see 'ip netns list'), a PID, or a path such as /proc/PID/ns/net")
		}
		opts.Netns = t
		if !cmd.Flags().Changed("state-dir") { // as the other commands' --netns do
			if id, err := t.ID(); err == nil {
				o.stateDir = filepath.Join(o.stateDir, "netns", netnsStateName(t, id))
			} else {
				o.stateDir = "" // never the host's history for another namespace
			}
		}
	}
	opts.StateDir = o.stateDir
	opts.Progress = progress(g, o)
	w, err := doctor.Sample(cmd.Context(), opts)
	if err != nil {
		return withHint(fmt.Errorf("doctor: %w", err), "%s", doctorHint(o))
	}
	r := doctor.Analyze(w)
	r.Netns = o.netns
	if o.procRoot == doctor.DefaultProcRoot {
		doctor.AttachNginx(cmd.Context(), r, o.procRoot)
	}
	g.reportTuned()
	if g.JSON() {
		enc := json.NewEncoder(g.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
	} else if err := doctor.WriteText(g.Stdout, r); err != nil {
		return err
	}
	return doctorExit(r.Result)
}

// runDoctorAll is doctor --all-netns.
func runDoctorAll(cmd *cobra.Command, g *Globals, o *doctorOptions) error {
	ao := doctor.AllOptions{Interval: o.interval, Once: o.once, Progress: progress(g, o)}
	ao.StateDir = func(ns netns.Namespace, current bool) string { // the state directory --netns uses
		if current {
			return o.stateDir
		}
		return filepath.Join(o.stateDir, "netns", netnsStateName(ns.Target(), ns.ID))
	}
	r, err := doctor.SampleAll(cmd.Context(), ao)
	if err != nil {
		return withHint(fmt.Errorf("doctor --all-netns: %w", err), "entering other network namespaces needs root (CAP_SYS_ADMIN)")
	}
	if g.JSON() {
		if err := writeJSON(g.Stdout, r); err != nil {
			return err
		}
	} else if err := doctor.WriteAllText(g.Stdout, r); err != nil {
		return err
	}
	return doctorExit(r.Result)
}

// doctorExit maps a doctor result to its exit status: findings 2, unknown 3.
func doctorExit(r string) error {
	switch r {
	case doctor.ResultFindings:
		return withExit(ExitChanges)
	case doctor.ResultUnknown:
		return withExit(ExitUnknown)
	}
	return nil
}

func doctorHint(o *doctorOptions) string {
	switch {
	case o.netns != "":
		return "entering another network namespace needs root (CAP_SYS_ADMIN); check the name with 'ip netns list'"
	case o.procRoot != doctor.DefaultProcRoot:
		return fmt.Sprintf("--proc-root %s must look like /proc: a thread-self or self link to a task directory with net/netstat, net/snmp, ...", o.procRoot)
	}
	return "is /proc mounted? tcptune doctor reads /proc/net/{netstat,snmp,sockstat,softnet_stat}"
}

// progress is the terminal progress indicator while sampling, nil when
// stderr is not a terminal.
func progress(g *Globals, o *doctorOptions) func(elapsed, total time.Duration) {
	if o.once || !isTerminal(g.Stderr) {
		return nil
	}
	return func(elapsed, total time.Duration) {
		fmt.Fprintf(g.Stderr, "\rsampling %.1fs / %.1fs ", elapsed.Seconds(), total.Seconds())
		if elapsed >= total {
			fmt.Fprint(g.Stderr, "\r\033[K")
		}
	}
}

// isTerminal reports whether w is a terminal (for the progress indicator).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// reportTuned warns (stderr, so JSON stays the report) when tuned is
// active and its [sysctl] section sets keys tcptune writes: whichever
// starts last wins, and the operator should know.
func (g *Globals) reportTuned() {
	if g.SysctlRoot != sysctl.DefaultRoot && g.TunedDir == validate.DefaultTunedEtc {
		return
	}
	t, err := g.tuned()
	if err != nil {
		fmt.Fprintf(g.Stderr, "tcptune: warning: could not read tuned's configuration: %v\n", err)
		return
	}
	if !t.Active() {
		return
	}
	var keys []string
	for _, k := range t.Keys() {
		if validate.KeyAllowed(k) == nil {
			a, _ := t.Sets(k)
			keys = append(keys, fmt.Sprintf("%s = %s (%s:%d)", k, a.Value, a.File, a.Line))
		}
	}
	if len(keys) == 0 {
		return
	}
	fmt.Fprintf(g.Stderr, "tcptune: warning: tuned profile %q sets keys a tcptune profile may also set: %s; %s\n", t.Profile, strings.Join(keys, ", "), t.Precedence())
	fmt.Fprintf(g.Stderr, "tcptune: hint: %s; 'tcptune diff P' names the keys your profile shares with tuned\n", t.Hint())
}

// traceOptions are doctor's --trace flags.
type traceOptions struct {
	duration time.Duration
	textfile string
}

func addTraceFlags(cmd *cobra.Command, t *traceOptions) {
	f := cmd.Flags()
	f.DurationVar(&t.duration, "trace", 0, "watch every TCP reset the kernel sends or receives for DURATION (Ctrl-C ends early) and name its cause; needs root (BPF)")
	f.StringVar(&t.textfile, "textfile", "", "with --trace: also write per-cause reset metrics to this Prometheus textfile (replaced atomically)")
}
