package boottest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Bounds on every wait; a container that misses one is killed.
const (
	bootTimeout = 60 * time.Second
	stopTimeout = 30 * time.Second
	runTimeout  = 90 * time.Second
)

// ShareDir is where the test's files (the .debs, profiles) appear inside
// every container, read-only.
const ShareDir = "/tcptune-test"

// wrapper runs in a private mount namespace (unshare --mount): a tmpfs over
// /run keeps nspawn's own runtime files (/run/systemd/nspawn/...) off the
// host, the overlay gives this container its own writable copy of the
// image, and both vanish with the namespace when nspawn exits, also after a
// SIGKILL.
const wrapper = `set -e
mount -t tmpfs -o mode=0755 tcptune-boottest /run
mount -t overlay tcptune-boottest -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4"
shift 4
exec systemd-nspawn "$@"`

// Machine is one container: an overlay of the image with its own upper
// directory, booted and stopped as often as a scenario needs. Every boot
// of a Machine is a boot of the same root.
type Machine struct {
	Name   string
	image  string
	share  string
	dir    string
	cmd    *exec.Cmd
	done   chan struct{}
	pid1   int
	onBoot func()
	logf   func(string, ...any)
}

// NewMachine prepares (does not boot) a container named name. dir must be
// a fresh directory the caller removes; onBoot is called at each boot.
func NewMachine(name, image, share, dir string, onBoot func(), logf func(string, ...any)) (*Machine, error) {
	for _, d := range []string{"upper", "work", "merged"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	return &Machine{Name: name, image: image, share: share, dir: dir, onBoot: onBoot, logf: logf}, nil
}

// Running reports whether the container is booted.
func (m *Machine) Running() bool { return m.cmd != nil }

// Boot starts the container and waits (bounded) until its systemd reports
// the boot finished (running or degraded; degraded lists the failed units).
func (m *Machine) Boot(ctx context.Context) error {
	if m.cmd != nil {
		return fmt.Errorf("%s is already running", m.Name)
	}
	console, err := os.OpenFile(filepath.Join(m.dir, "console.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer console.Close()
	args := []string{"--mount", "--propagation", "private", "sh", "-c", wrapper, "sh",
		m.image, filepath.Join(m.dir, "upper"), filepath.Join(m.dir, "work"), filepath.Join(m.dir, "merged"),
		"-D", filepath.Join(m.dir, "merged"), "-M", m.Name,
		"--private-network", "--register=no", "--keep-unit", "--console=pipe",
		"--bind-ro=" + m.share + ":" + ShareDir, "-b"}
	cmd := exec.Command("unshare", args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, console, console
	// Should the test binary die (go test -timeout, a crash) before its
	// clean-up runs, nspawn gets SIGTERM, halts the container and exits.
	// (SIGKILL would not do: the container's PID 1 outlives nspawn.)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start systemd-nspawn: %w", err)
	}
	m.cmd, m.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(m.done) }()
	m.onBoot()
	pid1, err := m.findPID1(ctx)
	if err != nil {
		m.kill()
		return fmt.Errorf("%s: %w\n%s", m.Name, err, m.Console(3000))
	}
	m.pid1 = pid1
	bctx, cancel := context.WithTimeout(ctx, bootTimeout)
	defer cancel()
	// "offline" until PID 1 has its private socket; then --wait blocks
	// until the boot is finished.
	var r Result
	var state string
	for {
		r = m.RunCtx(bctx, "systemctl", "is-system-running", "--wait")
		state = strings.TrimSpace(r.Stdout)
		if state != "offline" && state != "" || bctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if state != "running" && state != "degraded" {
		m.kill()
		return fmt.Errorf("%s: boot did not finish: is-system-running %q (%v)\n%s", m.Name, state, r.Err, m.Console(3000))
	}
	if state == "degraded" {
		m.logf("%s: boot degraded: %s", m.Name, m.Run("systemctl", "--failed", "--no-legend", "--plain").Stdout)
	}
	return nil
}

// findPID1 waits for nspawn's child whose PID in its own namespace is 1.
func (m *Machine) findPID1(ctx context.Context) (int, error) {
	deadline := time.Now().Add(20 * time.Second)
	nspawn := m.cmd.Process.Pid
	for time.Now().Before(deadline) {
		select {
		case <-m.done:
			return 0, errors.New("systemd-nspawn exited during boot")
		case <-ctx.Done():
			return 0, ctx.Err()
		default:
		}
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", nspawn, nspawn))
		for _, f := range strings.Fields(string(b)) {
			pid, _ := strconv.Atoi(f)
			st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			for _, l := range strings.Split(string(st), "\n") {
				if ns := strings.Fields(strings.TrimPrefix(l, "NSpid:")); strings.HasPrefix(l, "NSpid:") && len(ns) > 1 && ns[len(ns)-1] == "1" {
					return pid, nil
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return 0, errors.New("no container PID 1 within 20s")
}

// Stop powers the container off and waits for nspawn to exit; past the
// bound it kills the container's PID 1 and nspawn (both started by us).
func (m *Machine) Stop() error {
	if m.cmd == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m.RunCtx(ctx, "systemctl", "poweroff", "--no-block")
	select {
	case <-m.done:
		m.cmd = nil
		return nil
	case <-time.After(stopTimeout):
		m.kill()
		return fmt.Errorf("%s did not power off within %s: killed", m.Name, stopTimeout)
	}
}

// Reboot is a real second boot of the same root: power off, boot again.
func (m *Machine) Reboot(ctx context.Context) error {
	if err := m.Stop(); err != nil {
		return err
	}
	return m.Boot(ctx)
}

// kill ends the container by PID: SIGKILL to its PID 1 ends its whole PID
// namespace, then nspawn itself.
func (m *Machine) kill() {
	if m.cmd == nil {
		return
	}
	if m.pid1 > 0 {
		_ = syscall.Kill(m.pid1, syscall.SIGKILL)
	}
	_ = m.cmd.Process.Kill()
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		m.logf("%s: systemd-nspawn (pid %d) did not exit after SIGKILL", m.Name, m.cmd.Process.Pid)
	}
	m.cmd = nil
}

// Destroy stops the container if it runs (killing it past the bound).
func (m *Machine) Destroy() {
	if m.cmd != nil {
		if err := m.Stop(); err != nil {
			m.logf("%v", err)
		}
	}
}

// Console is the tail of the container's console output.
func (m *Machine) Console(n int) string {
	b, _ := os.ReadFile(filepath.Join(m.dir, "console.log"))
	return tail(string(b), n)
}

// Result of a command run inside the container.
type Result struct {
	Cmd            string
	Stdout, Stderr string
	Code           int // -1 when it did not run or was killed
	Err            error
}

func (r Result) String() string {
	return fmt.Sprintf("%s: exit %d (%v)\nstdout:\n%s\nstderr:\n%s", r.Cmd, r.Code, r.Err, r.Stdout, r.Stderr)
}

// Run runs a command inside the container (all its namespaces, its root,
// a clean environment), bounded by runTimeout.
func (m *Machine) Run(args ...string) Result {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	return m.RunCtx(ctx, args...)
}

// Sh runs a shell command line inside the container.
func (m *Machine) Sh(script string) Result { return m.Run("sh", "-c", script) }

// RunCtx is Run with the caller's bound.
func (m *Machine) RunCtx(ctx context.Context, args ...string) Result {
	r := Result{Cmd: strings.Join(args, " "), Code: -1}
	if m.cmd == nil || m.pid1 == 0 {
		r.Err = fmt.Errorf("%s is not running", m.Name)
		return r
	}
	full := append([]string{"-t", strconv.Itoa(m.pid1), "-a", "--", "/usr/bin/env", "-i",
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8"}, args...)
	cmd := exec.CommandContext(ctx, "nsenter", full...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	r.Stdout, r.Stderr = out.String(), errb.String()
	var ee *exec.ExitError
	switch {
	case err == nil:
		r.Code = 0
	case errors.As(err, &ee) && ee.Exited():
		r.Code = ee.ExitCode()
	default:
		r.Err = err
	}
	return r
}
