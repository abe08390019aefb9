package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/profiles"
)

// ErrNoNetns is returned when the lab cannot create a private network
// namespace (not root, or namespaces disabled). Nothing has run then.
var ErrNoNetns = errors.New("cannot create a private network namespace")

// Options configures Run.
type Options struct {
	Scenario string
	// Resolved is the profile to apply between the phases; the caller
	// resolves it (built-in, user directory or -f file).
	Resolved *profiles.Resolved
	// Clients overrides the scenario's default number of clients (0: keep).
	Clients int
	// Runs is how many fresh namespaces to run in (0 means 1).
	Runs int
	// RunTimeout bounds one run; the child is killed after it (0: 10 min).
	RunTimeout time.Duration
	// Exe and Args re-execute this program into ChildMain. The defaults are
	// /proc/self/exe and "lab __child" (the tcptune binary); test binaries
	// pass their own path and no args, and call ChildMain from TestMain.
	Exe  string
	Args []string
	// SysctlRoot is the child's sysctl tree ("" means the namespace's
	// /proc/sys); tests point it at a fake tree.
	SysctlRoot string
	// Log receives the children's progress (and their stderr); nil discards.
	Log     io.Writer
	Verbose bool
	// Progress, when set, is called about once a second during each run
	// (run counts from 1) and once with done at the end.
	Progress func(run, runs int, elapsed time.Duration, done bool)
}

// Run runs the scenario Runs times, each in a fresh private network
// namespace, and returns the report with the phases summed over runs. A
// scenario whose programs are missing returns a Report with Skipped set.
func Run(ctx context.Context, opts Options) (*Report, error) {
	sc, ok := Lookup(opts.Scenario)
	if !ok {
		return nil, fmt.Errorf("unknown scenario %q", opts.Scenario)
	}
	if opts.Resolved == nil {
		return nil, errors.New("no profile to apply")
	}
	rep := &Report{
		Scenario: sc.Name, Profile: strings.Join(opts.Resolved.Profiles, ","),
		Clients: sc.Clients, Kernel: KernelRelease(), Date: time.Now().UTC().Truncate(time.Second),
		BeforeState: map[string]string{},
	}
	for _, kv := range sc.Before {
		rep.BeforeState[kv.Key] = kv.Value
	}
	if opts.Clients > 0 {
		rep.Clients = opts.Clients
	}
	if m := sc.Missing(); m != "" {
		rep.Skipped = fmt.Sprintf("%s not found: %s", m, InstallHint(m))
		return rep, nil
	}
	host, err := netns.Self()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoNetns, err)
	}
	runs := max(opts.Runs, 1)
	for i := range runs {
		req := request{Scenario: sc.Name, Resolved: opts.Resolved, Clients: rep.Clients,
			HostNetns: host, SysctlRoot: opts.SysctlRoot, Verbose: opts.Verbose}
		stopProgress := progress(&opts, i+1, runs)
		rr, err := runOne(ctx, &opts, &req)
		stopProgress()
		if err != nil {
			return nil, fmt.Errorf("%s run %d of %d: %w", sc.Name, i+1, runs, err)
		}
		rep.Runs = append(rep.Runs, *rr)
	}
	rep.sum()
	return rep, nil
}

// progress calls opts.Progress every second until the returned func is
// called.
func progress(opts *Options, run, runs int) func() {
	if opts.Progress == nil {
		return func() {}
	}
	start, done := time.Now(), make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			opts.Progress(run, runs, time.Since(start), false)
			select {
			case <-done:
				opts.Progress(run, runs, time.Since(start), true)
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

// runOne starts one child in a new network namespace and decodes its result.
func runOne(ctx context.Context, opts *Options, req *request) (*RunResult, error) {
	timeout := opts.RunTimeout
	if timeout == 0 {
		timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	exe, args := opts.Exe, opts.Args
	if exe == "" {
		exe, args = "/proc/self/exe", []string{"lab", "__child"}
	}
	in, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), envChild+"=1")
	cmd.Stdin = bytes.NewReader(in)
	var out, errBuf bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errBuf
	if opts.Log != nil && opts.Verbose {
		cmd.Stderr = io.MultiWriter(&errBuf, opts.Log)
	}
	// The child is born in a fresh namespace that dies with it, and cannot
	// outlive us. Cancel kills it by PID only.
	if _, err := netns.Isolate(cmd); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoNetns, err)
	}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoNetns, err)
	}
	if err := cmd.Wait(); err != nil {
		msg := strings.TrimSpace(errBuf.String())
		if ctx.Err() != nil {
			return nil, fmt.Errorf("lab child killed after %s: %v\n%s", timeout, ctx.Err(), msg)
		}
		return nil, fmt.Errorf("lab child failed: %v: %s", err, msg)
	}
	var rr RunResult
	if err := json.Unmarshal(out.Bytes(), &rr); err != nil {
		return nil, fmt.Errorf("decode lab child result: %w", err)
	}
	return &rr, nil
}

// sum adds the runs' phases into Before and After and recomputes the
// percentiles over every sample.
func (r *Report) sum() {
	r.Before, r.After = Phase{}, Phase{}
	for i, rr := range r.Runs {
		if rr.Samples == nil {
			rr.Samples = &samples{}
		}
		for _, x := range []struct {
			dst       *Phase
			src       Phase
			ok, fails []float64
		}{{&r.Before, rr.Before, rr.Samples.BeforeOK, rr.Samples.BeforeFail},
			{&r.After, rr.After, rr.Samples.AfterOK, rr.Samples.AfterFail}} {
			x.dst.Outcomes.add(x.src.Outcomes)
			if i == 0 {
				x.dst.Settings, x.dst.BoundMs, x.dst.Notes = x.src.Settings, x.src.BoundMs, x.src.Notes
				x.dst.Queue = x.src.Queue
				x.dst.Counters = map[string]int64{}
			}
			for k, v := range x.src.Counters {
				x.dst.Counters[k] += v
			}
			x.dst.DurationMs += x.src.DurationMs
			addTrace(&x.dst.Trace, x.src.Trace)
			x.dst.okSamples = append(x.dst.okSamples, x.ok...)
			x.dst.failSamples = append(x.dst.failSamples, x.fails...)
		}
	}
	for i := range r.Runs {
		// The report keeps the first run's queue readings once, at the top.
		r.Runs[i].Samples = nil
		r.Runs[i].Before.Queue, r.Runs[i].After.Queue = nil, nil
	}
	r.Before.summarize()
	r.After.summarize()
	r.checkTrace()
}

// KernelRelease returns the running kernel's release (uname -r).
func KernelRelease() string {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return "unknown"
	}
	b := make([]byte, 0, len(u.Release))
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}
