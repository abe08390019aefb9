package lab

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"github.com/tcptune/tcptune/resettrace"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"text/template"
	"time"
)

// burst-resets-nginx: the seed's topology. A real nginx (the Debian
// package) proxies to a slow upstream. One worker, busy with proxying, takes
// connections off the kernel's accept queue slower than a spike fills it;
// the queue is min(backlog=, somaxconn) long and overflows. worker_connections
// is generous on purpose: a worker that runs out of connections closes the
// ones it accepted, and those resets would come from nginx, not from the
// kernel setting under test. The lab starts nginx itself with its own config
// in the run's temp dir, in the foreground, and stops it by PID.

const (
	nginxUpstreamPort  = 8002
	nginxUpstreamDelay = 200 * time.Millisecond
	nginxWorkers       = 1
	nginxConnections   = 4096
	nginxStartWait     = 5 * time.Second
)

// nginxConf is parsed on first use, not at start-up of every tcptune run.
var nginxConf = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("nginx.conf").Parse(nginxConfText))
})

const nginxConfText = `# written by tcptune lab for one run; deleted with it
daemon off;
master_process on;
worker_processes {{.Workers}};
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/error.log warn;
events {
    worker_connections {{.Connections}};
    accept_mutex on;
}
http {
    access_log off;
    client_body_temp_path {{.Dir}}/body;
    proxy_temp_path {{.Dir}}/proxy;
    fastcgi_temp_path {{.Dir}}/fastcgi;
    uwsgi_temp_path {{.Dir}}/uwsgi;
    scgi_temp_path {{.Dir}}/scgi;
    upstream backend { server 127.0.0.1:{{.Upstream}}; }
    server {
        listen 127.0.0.1:{{.Port}} backlog={{.Backlog}};
        location / { proxy_pass http://backend; }
    }
}
`

func init() {
	register(&Scenario{
		Name:        "burst-resets-nginx",
		Summary:     "burst-resets against a real nginx (listen backlog=65535) in front of a slow upstream",
		Profile:     "high-concurrency",
		Clients:     1000,
		Before:      burstBefore,
		Watch:       []string{"net.ipv4.tcp_max_syn_backlog"},
		Counters:    burstCounters,
		Needs:       []string{"nginx"},
		ExpectCause: resettrace.AcceptQueueOverflow,
		run:         runBurstNginx,
	})
}

func runBurstNginx(ctx context.Context, env *Env) (*Phase, error) {
	up, err := startUpstream()
	if err != nil {
		return nil, err
	}
	defer up.Close()
	stop, err := startNginx(ctx, filepath.Join(env.Dir, "nginx-"+env.Phase))
	if err != nil {
		return nil, err
	}
	defer stop()
	addr := fmt.Sprintf("127.0.0.1:%d", labPort)
	as := burstClients(ctx, env.Clients, func(ctx context.Context) attempt {
		return exchange(ctx, addr, burstClientTimeout, burstRTT, false, "GET / HTTP/1.0\r\nHost: lab\r\n\r\n",
			func(r *bufio.Reader) error {
				status, err := r.ReadString('\n')
				if err != nil {
					return err
				}
				if !strings.Contains(status, " 200 ") {
					return fmt.Errorf("nginx answered %q", strings.TrimSpace(status))
				}
				return nil
			})
	})
	p := &Phase{BoundMs: burstClientTimeout.Milliseconds()}
	tally(as, p)
	p.Notes = append(p.Notes, fmt.Sprintf("nginx: %d workers x %d connections, listen backlog=%d, upstream answers in %s; client handshake RTT %s, timeout %s",
		nginxWorkers, nginxConnections, serverBacklog, nginxUpstreamDelay, burstRTT, burstClientTimeout))
	return p, nil
}

// startUpstream serves HTTP on 127.0.0.1:nginxUpstreamPort, each answer
// after nginxUpstreamDelay. It is a minimal HTTP/1.x responder (read the
// request head, answer, close) rather than net/http: linking net/http and
// its TLS stack into tcptune would cost every diff and apply start-up time.
// Closing the returned listener stops it.
func startUpstream() (net.Listener, error) {
	ln, err := listenTCP(nginxUpstreamPort, serverBacklog)
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // listener closed
			}
			go serveUpstream(c)
		}
	}()
	return ln, nil
}

// serveUpstream answers one request on c and closes it.
func serveUpstream(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReaderSize(c, 4096)
	for { // the request head ends with an empty line
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if line == "\r\n" || line == "\n" {
			break
		}
	}
	time.Sleep(nginxUpstreamDelay)
	_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"))
}

// startNginx writes the config into dir, starts nginx in the foreground in
// its own process group and waits until it accepts. stop sends SIGTERM to
// the master it started (which stops its workers), then SIGKILL to that
// process group if it is still there after a few seconds.
func startNginx(ctx context.Context, dir string) (stop func(), err error) {
	return startNginxConf(ctx, dir, nginxConf(), map[string]any{"Workers": nginxWorkers, "Connections": nginxConnections,
		"Upstream": nginxUpstreamPort, "Port": labPort, "Backlog": serverBacklog})
}

// startNginxConf is startNginx with another configuration template; data
// gets "Dir" set to dir.
func startNginxConf(ctx context.Context, dir string, tmpl *template.Template, data map[string]any) (stop func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	data["Dir"] = dir
	var conf bytes.Buffer
	if err := tmpl.Execute(&conf, data); err != nil {
		return nil, err
	}
	cf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(cf, conf.Bytes(), 0o644); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	cmd := exec.Command("nginx", "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", cf)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start nginx: %w", err)
	}
	pid := cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stop = func() {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pid, syscall.SIGKILL) // the group of the master we started
			<-done
		}
	}
	deadline := time.Now().Add(nginxStartWait)
	for {
		c, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", labPort), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return stop, nil
		}
		select {
		case err := <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			return nil, fmt.Errorf("nginx exited: %v: %s%s", err, out.String(), log)
		case <-ctx.Done():
			stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("nginx did not accept on 127.0.0.1:%d within %s", labPort, nginxStartWait)
		}
	}
}
