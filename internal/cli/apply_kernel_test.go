package cli

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcptune/tcptune/apply"
	"github.com/tcptune/tcptune/internal/nstest"
	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

// hostKeys are checked in the parent before and after each kernel test: a
// kernel test must never change the host.
var hostKeys = []string{"net.core.somaxconn", "net.ipv4.tcp_max_syn_backlog", "net.ipv4.tcp_syn_retries",
	"net.ipv4.tcp_synack_retries", "net.ipv4.tcp_tw_reuse", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_fin_timeout",
	"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_syncookies", "net.ipv4.tcp_abort_on_overflow", "net.core.rmem_max"}

func hostSnapshot(t *testing.T) map[string]sysctl.Value {
	out := map[string]sysctl.Value{}
	fs := sysctl.NewFS("")
	for _, k := range hostKeys {
		v, err := fs.Read(sysctl.MustKey(k))
		if err != nil {
			t.Fatalf("read host %s: %v", k, err)
		}
		out[k] = v
	}
	return out
}

// TestKernelApplyKilledThenRollback: in a private network namespace, a real
// `tcptune apply` is SIGKILLed after each write k (test-only hook), then
// `tcptune status` reports the crash, `tcptune apply` refuses, and
// `tcptune rollback` restores every original.
func TestKernelApplyKilledThenRollback(t *testing.T) {
	if os.Getenv("TCPTUNE_NSTEST_CHILD") == "" {
		before := hostSnapshot(t)
		defer func() {
			after := hostSnapshot(t)
			for k, v := range before {
				if after[k] != v {
					t.Errorf("HOST CHANGED: %s %q -> %q", k, v, after[k])
				}
			}
		}()
	}
	if !nstest.InPrivateNetns(t) {
		return
	}
	fs := sysctl.NewFS("")
	r, err := (&profiles.Loader{}).Resolve(profiles.FailFast, profiles.SynFlood)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := apply.NewPlan(r, fs, netns.Child)
	if err != nil {
		t.Fatal(err)
	}
	toSet := plan.ToSet()
	if len(toSet) < 3 {
		t.Fatalf("only %d keys to set in a fresh namespace", len(toSet))
	}
	originals := map[sysctl.Key]sysctl.Value{}
	for _, c := range toSet {
		originals[c.Key] = c.Before
	}
	bin, err := exec.LookPath("tcptune") // testscript.Main put the test binary there
	if err != nil {
		t.Fatal(err)
	}
	for k := 1; k <= len(toSet); k++ {
		dir := t.TempDir()
		flags := []string{"--netns-kind", "child", "--state-dir", filepath.Join(dir, "state"), "--persist-dir", filepath.Join(dir, "sysctl.d"),
			"--sysctl-d", filepath.Join(dir, "sysctl.d"), "--sysctl-conf", filepath.Join(dir, "sysctl.conf")}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, bin, append([]string{"apply", "fail-fast", "syn-flood"}, flags...)...)
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", envPauseAfterWrite, k))
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stderr)
		paused := false
		for sc.Scan() {
			if strings.Contains(sc.Text(), fmt.Sprintf("paused after write %d ", k)) {
				paused = true
				break
			}
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		cancel()
		if !paused {
			t.Fatalf("k=%d: apply never paused", k)
		}
		if v, _ := fs.Read(toSet[k-1].Key); v != toSet[k-1].After {
			t.Fatalf("k=%d: %s = %q after the kill, want the written %q", k, toSet[k-1].Key, v, toSet[k-1].After)
		}
		if code, out, _ := run(t, append([]string{"status"}, flags[2:6]...)...); code != ExitChanges || !strings.Contains(out, "CRASHED") {
			t.Errorf("k=%d: status exit %d:\n%s", k, code, out)
		}
		if code, _, errs := run(t, append([]string{"apply", "fail-fast", "syn-flood"}, flags...)...); code != ExitError || !strings.Contains(errs, "crashed transaction") {
			t.Errorf("k=%d: apply over a crash: exit %d %s", k, code, errs)
		}
		if code, out, errs := run(t, append([]string{"rollback"}, flags[:6]...)...); code != 0 {
			t.Fatalf("k=%d: rollback exit %d\n%s\n%s", k, code, out, errs)
		}
		for key, want := range originals {
			if v, err := fs.Read(key); err != nil || v != want {
				t.Errorf("k=%d: %s = %q (%v) after rollback, want %q", k, key, v, err, want)
			}
		}
	}
}
