package doctor

import (
	"context"
	"fmt"
	"strings"
)

// AttachNginx reads the configuration of the nginx that owns one of r's
// listeners (nginx -T with that process's own -p/-c arguments) into
// r.Nginx, and puts its numbers next to the kernel's: each nginx listener's
// backlog against its accept-queue limit, and nginx's keepalive timeouts in
// the keepalive-race finding. Without an nginx listener it does nothing; a
// configuration that cannot be read is a note (it does not change the
// result: nginx's settings are context, not a source the rules need).
func AttachNginx(ctx context.Context, r *Report, procRoot string) {
	pid := 0
	for _, l := range r.Listeners {
		if strings.Contains(l.Process, "nginx") && l.PID != 0 {
			pid = l.PID
			break
		}
	}
	if pid == 0 {
		return
	}
	cfg, err := ReadNginxConfig(ctx, NginxArgsOf(procRoot, pid)...)
	if err != nil {
		r.Notes = append(r.Notes, "nginx configuration not read: "+err.Error())
		return
	}
	r.Nginx = cfg
	for i := range r.Findings {
		f := &r.Findings[i]
		if f.ID == "dead-backend" {
			f.Evidence = append(f.Evidence, valueEvidence("nginx proxy_connect_timeout ("+cfg.ProxyConnectTimeout.Where+")", cfg.ProxyConnectTimeout.Value))
			f.Explanation += fmt.Sprintf(" nginx runs here: its clients wait proxy_connect_timeout %s for a dead backend.", cfg.ProxyConnectTimeout.Value)
			continue
		}
		if f.ID != "probable-keepalive-race" {
			continue
		}
		f.Evidence = append(f.Evidence, valueEvidence("nginx keepalive_timeout ("+cfg.KeepaliveTimeout.Where+")", cfg.KeepaliveTimeout.Value))
		for _, u := range cfg.Upstreams {
			if u.Keepalive.Value != "" {
				f.Evidence = append(f.Evidence, valueEvidence(fmt.Sprintf("nginx upstream %s keepalive_timeout (%s)", u.Name, u.KeepaliveTimeout.Where), u.KeepaliveTimeout.Value))
			}
		}
		f.Explanation += fmt.Sprintf(" nginx here closes idle client connections after %s: clients must drop idle connections sooner.", cfg.KeepaliveTimeout.Value)
	}
}

// nginxText prints r.Nginx next to the kernel's listener limits.
func nginxText(r *Report) string {
	c := r.Nginx
	if c == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("\nnginx (nginx -T):\n")
	for _, l := range c.Listens {
		limit := "-"
		for _, kl := range r.Listeners {
			if kl.Port == l.Port && strings.Contains(kl.Process, "nginx") {
				limit = fmt.Sprint(kl.MaxQueue)
			}
		}
		set := ""
		if !l.BacklogSet {
			set = " (default)"
		}
		fmt.Fprintf(&b, "  listen %-22s backlog %d%s, kernel limit %s  %s\n", l.Addr, l.Backlog, set, limit, l.Where)
	}
	fmt.Fprintf(&b, "  keepalive_timeout %s (%s), keepalive_requests %s (%s)\n", c.KeepaliveTimeout.Value, c.KeepaliveTimeout.Where,
		c.KeepaliveRequests.Value, c.KeepaliveRequests.Where)
	for _, u := range c.Upstreams {
		ka := u.Keepalive.Value
		if ka == "" {
			ka = "off (a new connection per request)"
		}
		fmt.Fprintf(&b, "  upstream %s: keepalive %s, keepalive_timeout %s (%s)\n", u.Name, ka, u.KeepaliveTimeout.Value, u.KeepaliveTimeout.Where)
	}
	fmt.Fprintf(&b, "  proxy_connect_timeout %s (%s): what a client of nginx waits for a dead backend\n", c.ProxyConnectTimeout.Value, c.ProxyConnectTimeout.Where)
	return b.String()
}
