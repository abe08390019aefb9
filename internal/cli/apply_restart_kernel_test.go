//go:build tcptune_ext

package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcptune/tcptune/apply"
	"github.com/tcptune/tcptune/doctor"
	"github.com/tcptune/tcptune/internal/nstest"
	"github.com/tcptune/tcptune/resettrace"
	"github.com/tcptune/tcptune/sysctl"
)

// TestApplyRestartPredictsNginxBacklog: a real nginx listening without
// backlog= under somaxconn 128. apply high-concurrency (dry run) must not
// promise 65535 after a restart: nginx asks for 511 (its default), read
// from the running nginx's own configuration with nginx -T.
func TestApplyRestartPredictsNginxBacklog(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	if _, err := exec.LookPath("nginx"); err != nil {
		t.Skip("nginx not installed")
	}
	nstest.Guard(t)
	fs := sysctl.NewFS("")
	if err := fs.Write(sysctl.MustKey("net.core.somaxconn"), "128"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	startTestNginx(t, dir, "listen 127.0.0.1:8001;")
	var out, errb bytes.Buffer
	code := Run([]string{"apply", "high-concurrency", "--dry-run", "-o", "json", "--netns-kind", "child",
		"--state-dir", filepath.Join(dir, "state"), "--persist-dir", filepath.Join(dir, "sysctl.d"),
		"--sysctl-d", filepath.Join(dir, "sysctl.d"), "--sysctl-conf", filepath.Join(dir, "sysctl.conf")}, strings.NewReader(""), &out, &errb)
	if code != ExitOK {
		t.Fatalf("apply --dry-run: exit %d\n%s%s", code, out.String(), errb.String())
	}
	conform(t, schemas(t), "apply", "apply --dry-run -o json", out.String())
	var res apply.Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	var e *apply.RestartEntry
	for i := range res.Restart {
		if res.Restart[i].Addr == "127.0.0.1:8001" {
			e = &res.Restart[i]
		}
	}
	if e == nil {
		t.Fatalf("nginx's listener not in the restart list: %+v", res.Restart)
	}
	// doctor shows nginx's own numbers next to the kernel's.
	out.Reset()
	code = Run([]string{"doctor", "--once", "-o", "json"}, strings.NewReader(""), &out, &errb)
	conform(t, schemas(t), "doctor", "doctor --once -o json with nginx", out.String())
	var dr doctor.Report
	if err := json.Unmarshal(out.Bytes(), &dr); err != nil {
		t.Fatal(err)
	}
	if dr.Nginx == nil || len(dr.Nginx.Listens) != 1 || dr.Nginx.Listens[0].Backlog != 511 || dr.Nginx.Listens[0].BacklogSet ||
		dr.Nginx.KeepaliveTimeout.Value != "1s" {
		t.Errorf("doctor's nginx section: %+v (exit %d, notes %v)", dr.Nginx, code, dr.Notes)
	}
	if e.Backlog != 128 || e.PredictedLimit == nil || *e.PredictedLimit != 511 || e.AppBacklog == nil || *e.AppBacklog != 511 ||
		!strings.Contains(e.AppBacklogFrom, "nginx -T") || !strings.Contains(e.AppFix, "backlog=65535") {
		t.Errorf("restart entry %+v (predicted %v)", e, e.PredictedLimit)
	}
}

// startTestNginx runs nginx in the foreground with a configuration in dir
// (server { LISTEN; keepalive_timeout 1s; return 200 }) and kills its
// process group when the test ends.
func startTestNginx(t *testing.T, dir, listen string) {
	t.Helper()
	conf := filepath.Join(dir, "nginx.conf")
	body := fmt.Sprintf(`daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events {}
http {
    access_log off;
    client_body_temp_path %[1]s/b; proxy_temp_path %[1]s/p; fastcgi_temp_path %[1]s/f; uwsgi_temp_path %[1]s/u; scgi_temp_path %[1]s/s;
    server { %[2]s keepalive_timeout 1s; location / { return 200; } }
}
`, dir, listen)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("nginx", "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", conf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp4", "127.0.0.1:8001", 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if i > 50 {
			t.Fatalf("nginx did not start: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDoctorTraceNginxKeepalive: a client that sends on a keep-alive
// connection nginx closed after its keepalive_timeout gets a
// keepalive-race row whose fix quotes nginx's own 1s.
func TestDoctorTraceNginxKeepalive(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	if _, err := exec.LookPath("nginx"); err != nil {
		t.Skip("nginx not installed")
	}
	startTestNginx(t, t.TempDir(), "listen 127.0.0.1:8001;")
	var out, errb bytes.Buffer
	done := make(chan int)
	go func() {
		done <- Run([]string{"doctor", "--trace", "4s", "--netns", "/proc/self/ns/net", "-o", "json"}, strings.NewReader(""), &out, &errb)
	}()
	time.Sleep(1200 * time.Millisecond) // the programs are attached by then
	c, err := net.Dial("tcp4", "127.0.0.1:8001")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := c.Read(make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1300 * time.Millisecond) // nginx closes the idle connection after 1s
	_, _ = c.Write([]byte(req))         // the pooled connection's next request
	if code := <-done; code != ExitChanges {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	var r resettrace.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	for _, row := range r.Rows {
		if row.Cause == resettrace.KeepaliveRace && row.Local == "127.0.0.1:8001" {
			// The reset came from a time-wait socket in softirq context: the
			// process is the listener's owner, nginx.
			if !strings.Contains(row.Fix.Action, "keepalive_timeout 1s") || row.Process == nil || row.Process.Comm != "nginx" {
				t.Errorf("row fix %q process %+v", row.Fix.Action, row.Process)
			}
			return
		}
	}
	t.Errorf("no keepalive-race row at 127.0.0.1:8001:\n%s", out.String())
}
