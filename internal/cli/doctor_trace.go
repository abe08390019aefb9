//go:build tcptune_ext

package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tcptune/tcptune/doctor"
	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/reconcile"
	"github.com/tcptune/tcptune/resettrace"
)

// runDoctorTrace is `doctor --trace DURATION`: exit 0 without resets, 2
// with resets, 1 when tracing is impossible.
func runDoctorTrace(cmd *cobra.Command, g *Globals, o *doctorOptions) error {
	t := &o.trace
	if t.duration <= 0 {
		return withHint(fmt.Errorf("--trace must be a positive duration, got %s", t.duration), "for example: tcptune doctor --trace 30s")
	}
	var only uint32
	if o.netns != "" {
		t, err := netns.Resolve(o.netns)
		if err != nil {
			return withHint(err, "give an ip netns name (see 'ip netns list'), a PID, or a path such as /proc/PID/ns/net")
		}
		id, err := netns.IDOf(t.Path)
		if err != nil {
			return withHint(err, "check the name with 'ip netns list'")
		}
		only = uint32(id.Ino)
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var progress func(elapsed, total time.Duration, events int)
	if isTerminal(g.Stderr) {
		progress = func(elapsed, total time.Duration, events int) {
			fmt.Fprintf(g.Stderr, "\rtracing resets %.1fs / %.1fs, %d so far ", elapsed.Seconds(), total.Seconds(), events)
			if elapsed >= total {
				fmt.Fprint(g.Stderr, "\r\033[K")
			}
		}
	}
	r, err := resettrace.Trace(ctx, t.duration, resettrace.Options{}, progress)
	if err != nil {
		return traceError(err)
	}
	if only != 0 {
		r.Filter(only)
	}
	resettrace.AnnotateFromListeners(cmd.Context(), r, doctor.DefaultProcRoot) // not ctx: Ctrl-C ends the trace, not the report
	if t.textfile != "" {
		if err := reconcile.WriteTextfile(t.textfile, reconcile.ResetMetrics(r)); err != nil {
			return withHint(err, "--textfile must be in a writable directory (node_exporter's textfile directory)")
		}
	}
	switch g.Output {
	case "json":
		enc := json.NewEncoder(g.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
	case "prometheus":
		if _, err := g.Stdout.Write(reconcile.ResetMetrics(r)); err != nil {
			return err
		}
	default:
		if err := resettrace.WriteText(g.Stdout, r); err != nil {
			return err
		}
	}
	if len(r.Rows) > 0 {
		return withExit(ExitChanges)
	}
	return nil
}

func traceError(err error) error {
	switch {
	case errors.Is(err, resettrace.ErrNotPermitted):
		return withHint(fmt.Errorf("doctor --trace: %w", err),
			"run as root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN); without tracing, 'tcptune doctor' reads the counters")
	case errors.Is(err, resettrace.ErrUnsupported):
		return withHint(fmt.Errorf("doctor --trace: %w", err),
			"needs a kernel with BTF (/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF) and the tcp:tcp_send_reset tracepoint; 'tcptune doctor' without --trace reads the counters")
	}
	return withHint(fmt.Errorf("doctor --trace: %w", err), "run as root on Linux 5.8+ with BTF")
}
