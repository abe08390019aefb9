package doctor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// NginxConfig is what the doctor reads from `nginx -T` (the full
// configuration nginx would load): the settings that decide accept queues,
// keep-alive races and connect timeouts, next to the kernel's numbers.
// Each value carries where it was set ("/etc/nginx/nginx.conf:12"), or
// "default" when nginx's built-in value applies.
type NginxConfig struct {
	Listens []NginxListen `json:"listens"`
	// KeepaliveTimeout: client keep-alive (http/server), default 75s.
	KeepaliveTimeout NginxValue `json:"keepalive_timeout"`
	// KeepaliveRequests: requests per client connection, default 1000
	// (100 before nginx 1.19.10).
	KeepaliveRequests NginxValue `json:"keepalive_requests"`
	// Upstreams lists upstream blocks with keepalive settings.
	Upstreams []NginxUpstream `json:"upstreams"`
	// ProxyConnectTimeout: how long nginx waits for an upstream's
	// handshake (default 60s); what a client of nginx feels when a backend
	// is dead, whatever tcp_syn_retries says.
	ProxyConnectTimeout NginxValue `json:"proxy_connect_timeout"`
}

// NginxValue is one directive's value and where it was set.
type NginxValue struct {
	Value string `json:"value"`
	Where string `json:"where"`
}

// NginxListen is a listen directive.
type NginxListen struct {
	Addr string `json:"addr"` // as written ("80", "127.0.0.1:8001", "[::]:443")
	Port uint16 `json:"port"`
	// Backlog is backlog=N, or 511 (NGX_LISTEN_BACKLOG on Linux) when unset.
	Backlog    int    `json:"backlog"`
	BacklogSet bool   `json:"backlog_set"`
	Where      string `json:"where"`
}

// NginxUpstream is an upstream block's keep-alive cache.
type NginxUpstream struct {
	Name             string     `json:"name"`
	Keepalive        NginxValue `json:"keepalive"`         // idle connections cached; "" = none (no reuse)
	KeepaliveTimeout NginxValue `json:"keepalive_timeout"` // default 60s
}

// nginxDefaultBacklog is NGX_LISTEN_BACKLOG on Linux.
const nginxDefaultBacklog = 511

// ErrNoNginx: nginx is not installed (not an error for the doctor).
var ErrNoNginx = errors.New("nginx not found in PATH")

// ReadNginxConfig runs `nginx -T` (read-only: it tests and prints the
// configuration) and parses its output; args go to nginx (tests pass
// -p DIR -c FILE).
func ReadNginxConfig(ctx context.Context, args ...string) (*NginxConfig, error) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		return nil, ErrNoNginx
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, append([]string{"-T", "-q"}, args...)...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("nginx -T: %v: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return nil, fmt.Errorf("nginx -T: %w", err)
	}
	return ParseNginxConfig(strings.NewReader(string(out)))
}

// ParseNginxConfig parses `nginx -T` output: "# configuration file PATH:"
// headers, then each file's text.
func ParseNginxConfig(r io.Reader) (*NginxConfig, error) {
	c := &NginxConfig{
		KeepaliveTimeout:    NginxValue{"75s", "default"},
		KeepaliveRequests:   NginxValue{"1000", "default"},
		ProxyConnectTimeout: NginxValue{"60s", "default"},
		Listens:             []NginxListen{},
		Upstreams:           []NginxUpstream{},
	}
	var (
		file  = "nginx.conf"
		line  int
		stack []string // block names: "http", "server", "upstream NAME", ...
		words []string
		start int
	)
	where := func() string { return fmt.Sprintf("%s:%d", file, start) }
	directive := func() {
		if len(words) == 0 {
			return
		}
		name, args := words[0], words[1:]
		ctx := ""
		if len(stack) > 0 {
			ctx = strings.Fields(stack[len(stack)-1])[0]
		}
		val := NginxValue{strings.Join(args, " "), where()}
		switch {
		case name == "listen" && ctx == "server" && len(args) > 0:
			if l, ok := parseListen(args); ok {
				l.Where = where()
				c.Listens = append(c.Listens, l)
			}
		case name == "keepalive_timeout" && ctx == "upstream" && len(c.Upstreams) > 0:
			c.Upstreams[len(c.Upstreams)-1].KeepaliveTimeout = val
		case name == "keepalive" && ctx == "upstream" && len(c.Upstreams) > 0:
			c.Upstreams[len(c.Upstreams)-1].Keepalive = val
		case name == "keepalive_timeout" && (ctx == "http" || ctx == "server") && len(args) > 0:
			c.KeepaliveTimeout = NginxValue{args[0], where()}
		case name == "keepalive_requests" && (ctx == "http" || ctx == "server"):
			c.KeepaliveRequests = val
		case name == "proxy_connect_timeout":
			c.ProxyConnectTimeout = val
		}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		text := sc.Text()
		if f, ok := strings.CutPrefix(text, "# configuration file "); ok {
			file, line = strings.TrimSuffix(strings.TrimSpace(f), ":"), 0
			continue
		}
		line++
		for _, tok := range nginxTokens(text) {
			switch tok {
			case ";":
				directive()
				words = nil
			case "{":
				if len(words) > 0 {
					if words[0] == "upstream" && len(words) > 1 {
						c.Upstreams = append(c.Upstreams, NginxUpstream{Name: words[1],
							KeepaliveTimeout: NginxValue{"60s", "default"}})
					}
					stack = append(stack, strings.Join(words, " "))
				} else {
					stack = append(stack, "block")
				}
				words = nil
			case "}":
				if len(stack) > 0 {
					stack = stack[:len(stack)-1]
				}
				words = nil
			default:
				if len(words) == 0 {
					start = line
				}
				words = append(words, tok)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read nginx -T output: %w", err)
	}
	return c, nil
}

// nginxTokens splits one line into words and the ; { } punctuation,
// dropping comments; quotes group words.
func nginxTokens(s string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	quote := byte(0)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0
				flush()
			} else {
				cur.WriteByte(ch)
			}
		case ch == '"' || ch == '\'':
			quote = ch
		case ch == '#':
			flush()
			return out
		case ch == ';' || ch == '{' || ch == '}':
			flush()
			out = append(out, string(ch))
		case ch == ' ' || ch == '\t' || ch == '\r':
			flush()
		default:
			cur.WriteByte(ch)
		}
	}
	flush()
	return out
}

// parseListen reads a listen directive's address and backlog=N.
func parseListen(args []string) (NginxListen, bool) {
	l := NginxListen{Addr: args[0], Backlog: nginxDefaultBacklog}
	a := args[0]
	if strings.HasPrefix(a, "unix:") {
		return l, false
	}
	port := a
	if i := strings.LastIndex(a, ":"); i >= 0 && !strings.HasSuffix(a, "]") {
		port = a[i+1:]
	} else if !isDigits(a) {
		port = "80" // an address alone listens on 80
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return l, false
	}
	l.Port = uint16(p)
	for _, o := range args[1:] {
		if v, ok := strings.CutPrefix(o, "backlog="); ok {
			if n, err := strconv.Atoi(v); err == nil {
				l.Backlog, l.BacklogSet = n, true
			}
		}
	}
	return l, true
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// BacklogFor returns the backlog nginx asks for on port, and where it was
// set; false when no listen directive has that port.
func (c *NginxConfig) BacklogFor(port uint16) (int, string, bool) {
	for _, l := range c.Listens {
		if l.Port == port {
			where := l.Where
			if !l.BacklogSet {
				where += " (no backlog=: nginx's default 511)"
			}
			return l.Backlog, where, true
		}
	}
	return 0, "", false
}

// NginxArgsOf returns the -p, -c and -g arguments of the running nginx
// with pid (from procRoot/PID/cmdline), so `nginx -T` reads the
// configuration that process loaded, not the default one. A worker
// ("nginx: worker process") has rewritten its command line: its master,
// the parent, still has the arguments.
func NginxArgsOf(procRoot string, pid int) []string {
	for range 2 {
		b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "cmdline"))
		if err != nil {
			return nil
		}
		argv := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(argv) > 0 && strings.HasPrefix(argv[0], "nginx: worker") {
			if pid = parentPID(procRoot, pid); pid <= 1 {
				return nil
			}
			continue
		}
		// The master rewrites its command line into one string:
		// "nginx: master process nginx -p DIR -c FILE".
		if rest, ok := strings.CutPrefix(strings.Join(argv, " "), "nginx: master process "); ok {
			argv = strings.Fields(rest)
		}
		var out []string
		for i := 1; i+1 < len(argv); i++ {
			switch argv[i] {
			case "-p", "-c", "-g":
				out = append(out, argv[i], argv[i+1])
				i++
			}
		}
		return out
	}
	return nil
}

// parentPID reads PPid from procRoot/PID/status; 0 when unknown.
func parentPID(procRoot string, pid int) int {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "PPid:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}
