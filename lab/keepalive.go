package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/tcptune/tcptune/resettrace"
)

// keepalive-race and upstream-keepalive: the seed's first suspect. No
// counter and no sysctl is involved; the fix is in the applications: a
// client's idle timeout must be shorter than the server's keepalive
// timeout. The Go client is the seed's http.Client (tcptune-lab-httpclient)
// with its timeouts scaled from seconds to a second: nginx keepalive_timeout
// 1s for 65s, the client's IdleConnTimeout 3s before (longer: the race) and
// 500ms after (shorter: the fix). Requests are POSTs, which the Transport
// does not retry on a reused connection, as in the seed.
//
// The profile the lab applies between the phases changes nothing here (no
// sysctl fixes this); the after phase also applies the application fix
// the scenario's AppFix names, so before/after shows that fix.

const (
	// kaServerTimeout is nginx's keepalive_timeout, or the backend's idle
	// timeout.
	kaServerTimeout = time.Second
	// kaPathDelay is the return path's delay (see delayRelay).
	kaPathDelay = 40 * time.Millisecond
	// kaGap and kaJitter space a client's requests so that most are sent
	// just after the server closed and before its FIN arrived.
	kaGap    = kaServerTimeout - 30*time.Millisecond
	kaJitter = 60 * time.Millisecond
	// kaRelayPort is where the relay (the "network") listens.
	kaRelayPort   = 8080
	kaBackendPort = 8002
	kaClientIdle  = 3 * time.Second        // before: longer than the server's
	kaFixedIdle   = 500 * time.Millisecond // after: shorter than the server's
	kaWorkers     = 10
)

// HTTPClientEnv names the lab's Go client binary when it is not next to
// tcptune or in PATH.
const HTTPClientEnv = "TCPTUNE_LAB_HTTPCLIENT"

const httpClientName = "tcptune-lab-httpclient"

// httpClientPath finds tcptune-lab-httpclient: $TCPTUNE_LAB_HTTPCLIENT, next
// to this executable, or in PATH.
func httpClientPath() (string, error) {
	if p := os.Getenv(HTTPClientEnv); p != "" {
		return p, nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), httpClientName)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return exec.LookPath(httpClientName)
}

// nginxKeepaliveConf is parsed on first use, not at the start-up of every
// tcptune run.
var nginxKeepaliveConf = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("nginx-keepalive.conf").Parse(nginxKeepaliveConfText))
})

const nginxKeepaliveConfText = `# written by tcptune lab for one run; deleted with it
daemon off;
master_process on;
worker_processes 1;
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/error.log error;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path {{.Dir}}/body;
    proxy_temp_path {{.Dir}}/proxy;
    fastcgi_temp_path {{.Dir}}/fastcgi;
    uwsgi_temp_path {{.Dir}}/uwsgi;
    scgi_temp_path {{.Dir}}/scgi;
    keepalive_timeout {{.KeepaliveMs}}ms;
    keepalive_requests 1000;
{{- if .Upstream}}
    upstream backend {
        server 127.0.0.1:{{.Upstream}};
        keepalive 16;
        keepalive_timeout {{.UpstreamKeepaliveMs}}ms;
    }
{{- end}}
    server {
        listen 127.0.0.1:{{.Port}};
{{- if .Upstream}}
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
{{- else}}
        location / { return 200 "ok\n"; }
{{- end}}
    }
}
`

func init() {
	register(&Scenario{
		Name:    "keepalive-race",
		Summary: "the seed's Go client keeps idle connections longer than nginx's keepalive_timeout: requests race the close -> connection reset by peer",
		Profile: "high-concurrency",
		Clients: kaWorkers * 6,
		AppFix: fmt.Sprintf("client IdleConnTimeout %s -> %s, shorter than nginx keepalive_timeout %s",
			kaClientIdle, kaFixedIdle, kaServerTimeout),
		ExpectCause:      resettrace.KeepaliveRace,
		TraceIgnorePorts: []uint16{kaRelayPort},
		Counters:         []string{"TcpExt.TCPAbortOnData", "TcpExt.TCPAbortOnClose", "TcpExt.ListenOverflows", "Tcp.OutRsts"},
		Needs:            []string{"nginx", httpClientName},
		run:              runKeepaliveRace,
	})
	register(&Scenario{
		Name:    "upstream-keepalive",
		Summary: "nginx keeps idle upstream connections longer than the backend does: 502 Bad Gateway, 'upstream prematurely closed connection'",
		Profile: "high-concurrency",
		Clients: 12,
		AppFix: fmt.Sprintf("nginx upstream keepalive_timeout %s -> %s, shorter than the backend's idle timeout %s",
			kaClientIdle, kaFixedIdle, kaServerTimeout),
		ExpectCause:      resettrace.KeepaliveRace,
		TraceIgnorePorts: []uint16{kaRelayPort},
		Counters:         []string{"TcpExt.TCPAbortOnData", "TcpExt.TCPAbortOnClose", "TcpExt.ListenOverflows", "Tcp.OutRsts"},
		Needs:            []string{"nginx", httpClientName},
		run:              runUpstreamKeepalive,
	})
}

// runKeepaliveRace: client -> relay (the network) -> nginx.
func runKeepaliveRace(ctx context.Context, env *Env) (*Phase, error) {
	stop, err := startNginxConf(ctx, filepath.Join(env.Dir, "nginx-"+env.Phase), nginxKeepaliveConf(),
		map[string]any{"Port": labPort, "KeepaliveMs": kaServerTimeout.Milliseconds()})
	if err != nil {
		return nil, err
	}
	defer stop()
	relay, err := startDelayRelay(kaRelayPort, fmt.Sprintf("127.0.0.1:%d", labPort), kaPathDelay)
	if err != nil {
		return nil, err
	}
	defer relay.close()
	idle := kaClientIdle
	if env.Phase == "after" {
		idle = kaFixedIdle
	}
	workers := min(kaWorkers, env.Clients)
	rounds := max(1, env.Clients/workers)
	p, err := runHTTPClient(ctx, env, fmt.Sprintf("http://127.0.0.1:%d/", kaRelayPort), workers, rounds, idle)
	if err != nil {
		return nil, err
	}
	p.Notes = append(p.Notes, fmt.Sprintf("nginx keepalive_timeout %s; %d Go clients (the seed's http.Transport, IdleConnTimeout %s) x %d POSTs spaced %s..%s; return path delay %s",
		kaServerTimeout, workers, idle, rounds, kaGap, kaGap+kaJitter, kaPathDelay))
	return p, nil
}

// runUpstreamKeepalive: client -> nginx -> relay (the network) -> backend.
// One client, so nginx reuses the one upstream connection each time
// (nginx's cache hands out the most recently used connection).
func runUpstreamKeepalive(ctx context.Context, env *Env) (*Phase, error) {
	back, err := startKeepaliveBackend(kaBackendPort, kaServerTimeout)
	if err != nil {
		return nil, err
	}
	defer back.close()
	relay, err := startDelayRelay(kaRelayPort, fmt.Sprintf("127.0.0.1:%d", kaBackendPort), kaPathDelay)
	if err != nil {
		return nil, err
	}
	defer relay.close()
	upIdle := kaClientIdle
	if env.Phase == "after" {
		upIdle = kaFixedIdle
	}
	stop, err := startNginxConf(ctx, filepath.Join(env.Dir, "nginx-"+env.Phase), nginxKeepaliveConf(),
		map[string]any{"Port": labPort, "KeepaliveMs": 75000, "Upstream": kaRelayPort, "UpstreamKeepaliveMs": upIdle.Milliseconds()})
	if err != nil {
		return nil, err
	}
	defer stop()
	p, err := runHTTPClient(ctx, env, fmt.Sprintf("http://127.0.0.1:%d/", labPort), 1, env.Clients, 60*time.Second)
	if err != nil {
		return nil, err
	}
	log, _ := os.ReadFile(filepath.Join(env.Dir, "nginx-"+env.Phase, "error.log"))
	if n := strings.Count(string(log), "upstream prematurely closed connection") + strings.Count(string(log), "Connection reset by peer) while reading response header from upstream"); n > 0 {
		p.Notes = append(p.Notes, fmt.Sprintf("nginx error.log: %d upstream connection(s) closed or reset under a request", n))
	}
	p.Notes = append(p.Notes, fmt.Sprintf("backend idle timeout %s; nginx upstream keepalive 16, keepalive_timeout %s; 1 Go client x %d POSTs spaced %s..%s; return path delay %s",
		kaServerTimeout, upIdle, env.Clients, kaGap, kaGap+kaJitter, kaPathDelay))
	return p, nil
}

// runHTTPClient runs the Go client and tallies its attempts.
func runHTTPClient(ctx context.Context, env *Env, url string, workers, rounds int, idle time.Duration) (*Phase, error) {
	bin, err := httpClientPath()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", httpClientName, err)
	}
	bound := time.Duration(rounds)*(kaGap+kaJitter+2*time.Second) + 10*time.Second
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-url", url, "-workers", fmt.Sprint(workers), "-rounds", fmt.Sprint(rounds),
		"-gap", kaGap.String(), "-jitter", kaJitter.String(), "-idle", idle.String())
	cmd.Stderr = env.Log
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", httpClientName, err)
	}
	var res struct {
		Attempts []struct {
			Class, Detail string
			Ms            float64
		}
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("%s output: %w", httpClientName, err)
	}
	p := &Phase{BoundMs: bound.Milliseconds()}
	var as []attempt
	details := map[string]int{}
	for _, a := range res.Attempts {
		c := classOther
		switch a.Class {
		case "ok":
			c = classOK
		case "reset":
			c = classReset
		case "eof":
			c = classEOF
		case "refused":
			c = classRefused
		case "timeout":
			c = classTimeout
		}
		if c != classOK {
			details[a.Class+": "+shortDetail(a.Detail)]++
		}
		as = append(as, attempt{class: c, elapsed: time.Duration(a.Ms * float64(time.Millisecond))})
	}
	tally(as, p)
	keys := make([]string, 0, len(details))
	for k := range details {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p.Notes = append(p.Notes, fmt.Sprintf("client saw %d x %s", details[k], k))
	}
	return p, nil
}

// shortDetail keeps the end of a Go error ("read: connection reset by
// peer", "EOF", "502 Bad Gateway").
func shortDetail(s string) string {
	if i := strings.LastIndex(s, ": "); i >= 0 && i+2 < len(s) {
		return s[i+2:]
	}
	return s
}
