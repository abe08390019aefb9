package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

// envChild marks the re-executed process as a lab child. The CLI's hidden
// `lab __child` command and test binaries' TestMain call ChildMain when it
// is set.
const envChild = "TCPTUNE_LAB_CHILD"

// IsChild reports whether this process was started by Run as a lab child.
func IsChild() bool { return os.Getenv(envChild) == "1" }

// request is what the parent sends the child on stdin.
type request struct {
	Scenario string             `json:"scenario"`
	Resolved *profiles.Resolved `json:"resolved"`
	Clients  int                `json:"clients"`
	// HostNetns is the parent's namespace: the child must not be in it.
	HostNetns  netns.ID `json:"host_netns"`
	SysctlRoot string   `json:"sysctl_root"`
	Verbose    bool     `json:"verbose"`
}

// ChildMain runs one lab run in the current process, which must be in a
// private network namespace, and prints a RunResult as JSON on stdout. It
// returns the exit status.
func ChildMain(stdin io.Reader, stdout, stderr io.Writer) int {
	var req request
	if err := json.NewDecoder(stdin).Decode(&req); err != nil {
		fmt.Fprintf(stderr, "tcptune lab child: error: decode request: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := io.Discard
	if req.Verbose {
		log = stderr
	}
	res, err := runChild(ctx, &req, log)
	if err != nil {
		fmt.Fprintf(stderr, "tcptune lab child: error: %v\n", err)
		return 1
	}
	if err := json.NewEncoder(stdout).Encode(res); err != nil {
		fmt.Fprintf(stderr, "tcptune lab child: error: %v\n", err)
		return 1
	}
	return 0
}

// ErrNotPrivate is returned when the guard finds the process in the
// namespace it was started from (or cannot tell).
var ErrNotPrivate = errors.New("refusing to run: not in a private network namespace")

func runChild(ctx context.Context, req *request, log io.Writer) (*RunResult, error) {
	// The guard comes first: nothing below may run in the host's namespace.
	if req.HostNetns.IsZero() {
		return nil, fmt.Errorf("%w: the request names no parent namespace", ErrNotPrivate)
	}
	if err := netns.CheckPrivate(req.HostNetns); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotPrivate, err)
	}
	sc, ok := Lookup(req.Scenario)
	if !ok {
		return nil, fmt.Errorf("unknown scenario %q", req.Scenario)
	}
	if req.Resolved == nil {
		return nil, errors.New("no profile in the request")
	}
	self, _ := netns.Self()
	if err := netns.LoopbackUp(); err != nil {
		return nil, err
	}
	fs := sysctl.NewFS(req.SysctlRoot)
	if err := setBefore(fs, sc.Before); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "tcptune-lab-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	keys := sc.keys()
	for _, s := range req.Resolved.Settings {
		keys = append(keys, s.Key.String())
	}
	env := &Env{Clients: req.Clients, Dir: dir, Log: log}

	res := &RunResult{Netns: self.String()}
	env.Phase = "before"
	fmt.Fprintf(log, "lab: %s: before (%s)\n", sc.Name, self)
	before, err := runPhase(ctx, sc, env, fs, keys)
	if err != nil {
		return nil, fmt.Errorf("before phase: %w", err)
	}
	fmt.Fprintf(log, "lab: %s: applying %v through apply.Apply\n", sc.Name, req.Resolved.Profiles)
	res.Apply, err = applyProfile(ctx, fs, req.Resolved, dir)
	if err != nil {
		return nil, err
	}
	env.Phase = "after"
	fmt.Fprintf(log, "lab: %s: after\n", sc.Name)
	after, err := runPhase(ctx, sc, env, fs, keys)
	if err != nil {
		return nil, fmt.Errorf("after phase: %w", err)
	}
	res.Before, res.After = *before, *after
	res.Samples = &samples{before.okSamples, before.failSamples, after.okSamples, after.failSamples}
	return res, nil
}

// setBefore writes the documented before state and reads each key back.
// Only the child calls it, after the guard.
func setBefore(fs *sysctl.FS, kvs []KV) error {
	for _, kv := range kvs {
		k, err := sysctl.ParseKey(kv.Key)
		if err != nil {
			return err
		}
		v, err := sysctl.ParseValue(kv.Value)
		if err != nil {
			return err
		}
		if err := fs.Write(k, v); err != nil {
			return fmt.Errorf("set before state: %w", err)
		}
		got, err := fs.Read(k)
		if err != nil {
			return fmt.Errorf("set before state: %w", err)
		}
		if got != v {
			return fmt.Errorf("set before state: %s: kernel kept %q, not %q", k, got, v)
		}
	}
	return nil
}

// runPhase runs one workload between two readings of the counters.
func runPhase(ctx context.Context, sc *Scenario, env *Env, fs *sysctl.FS, keys []string) (*Phase, error) {
	settings := map[string]string{}
	for _, name := range keys {
		k, err := sysctl.ParseKey(name)
		if err != nil {
			return nil, err
		}
		if v, err := fs.Read(k); err == nil {
			settings[k.String()] = v.String()
		}
	}
	c0, err := ReadCounters()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	endTrace := startTrace(sc)
	endQueue := sampleQueue()
	p, err := sc.run(ctx, env)
	queue := endQueue()
	trace := endTrace()
	if err != nil {
		return nil, err
	}
	p.Trace, p.Queue = trace, queue
	p.DurationMs = time.Since(start).Milliseconds()
	c1, err := ReadCounters()
	if err != nil {
		return nil, err
	}
	p.Settings = settings
	p.Counters = Delta(c0, c1, sc.Counters)
	p.summarize()
	return p, nil
}
