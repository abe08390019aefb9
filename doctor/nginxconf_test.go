package doctor

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const nginxT = `nginx: the configuration file /etc/nginx/nginx.conf syntax is ok
# configuration file /etc/nginx/nginx.conf:
user www-data;
events { worker_connections 768; }
http {
    keepalive_timeout 20s;   # lowered, as in the seed
    upstream backend {
        server 10.0.0.5:8080;
        keepalive 65;
        keepalive_timeout 60s;
    }
    include /etc/nginx/sites-enabled/*;
}

# configuration file /etc/nginx/sites-enabled/default:
server {
    listen 80 default_server backlog=4096;
    listen [::]:80 default_server;
    listen unix:/run/nginx.sock;
    location / { proxy_pass http://backend; proxy_connect_timeout "2s"; }
}
`

func TestParseNginxConfig(t *testing.T) {
	c, err := ParseNginxConfig(strings.NewReader(nginxT))
	if err != nil {
		t.Fatal(err)
	}
	want := &NginxConfig{
		Listens: []NginxListen{
			{Addr: "80", Port: 80, Backlog: 4096, BacklogSet: true, Where: "/etc/nginx/sites-enabled/default:2"},
			{Addr: "[::]:80", Port: 80, Backlog: 511, Where: "/etc/nginx/sites-enabled/default:3"},
		},
		KeepaliveTimeout:    NginxValue{"20s", "/etc/nginx/nginx.conf:4"},
		KeepaliveRequests:   NginxValue{"1000", "default"},
		Upstreams:           []NginxUpstream{{Name: "backend", Keepalive: NginxValue{"65", "/etc/nginx/nginx.conf:7"}, KeepaliveTimeout: NginxValue{"60s", "/etc/nginx/nginx.conf:8"}}},
		ProxyConnectTimeout: NginxValue{"2s", "/etc/nginx/sites-enabled/default:5"},
	}
	if d := cmp.Diff(want, c); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if b, where, ok := c.BacklogFor(80); !ok || b != 4096 || where != "/etc/nginx/sites-enabled/default:2" {
		t.Errorf("BacklogFor(80) = %d %q %v", b, where, ok)
	}
	c2, _ := ParseNginxConfig(strings.NewReader("http { server { listen 127.0.0.1:8001; } }\n"))
	if b, where, ok := c2.BacklogFor(8001); !ok || b != 511 || !strings.Contains(where, "default 511") {
		t.Errorf("default backlog: %d %q %v", b, where, ok)
	}
	if _, _, ok := c2.BacklogFor(443); ok {
		t.Error("BacklogFor a port nginx does not listen on")
	}
}

// TestReadNginxConfigReal runs the real nginx -T on a configuration in a
// temp dir (nginx -T only reads and tests it; nothing listens).
func TestReadNginxConfigReal(t *testing.T) {
	if _, err := exec.LookPath("nginx"); err != nil {
		t.Skip("nginx not installed")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	body := "pid " + dir + "/nginx.pid;\nerror_log " + dir + "/error.log;\nevents {}\nhttp {\n  access_log off;\n  keepalive_timeout 1s;\n" +
		"  client_body_temp_path " + dir + "/b; proxy_temp_path " + dir + "/p; fastcgi_temp_path " + dir + "/f; uwsgi_temp_path " + dir + "/u; scgi_temp_path " + dir + "/s;\n" +
		"  server { listen 127.0.0.1:8001 backlog=65535; }\n}\n"
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := ReadNginxConfig(context.Background(), "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", conf)
	if err != nil {
		t.Fatal(err)
	}
	if b, _, ok := c.BacklogFor(8001); !ok || b != 65535 || c.KeepaliveTimeout.Value != "1s" {
		t.Errorf("parsed %+v", c)
	}
}
