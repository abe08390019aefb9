package apply

import (
	"fmt"
	"strings"
)

// predictRestart says what a listener capped below the new somaxconn gets
// when it listens again: the kernel takes min(backlog passed to listen(),
// somaxconn) (net/socket.c __sys_listen_socket), so raising somaxconn helps
// only a listener whose application asks for more.
//
//   - the application's backlog is known (nginx -T): min(it, somaxconn);
//   - the limit is already below the old somaxconn: the application capped
//     it, and a restart keeps that cap;
//   - otherwise it depends on the application (Go reads somaxconn once at
//     start and asks for it; others pass their own number).
func predictRestart(l Listener, before, after int64) RestartEntry {
	e := RestartEntry{Listener: l, NewLimit: uint32(after)}
	nginx := strings.Contains(l.Process, "nginx")
	switch {
	case l.AppBacklog != nil:
		p := uint32(min(int64(*l.AppBacklog), after))
		e.PredictedLimit = &p
		e.Prediction = fmt.Sprintf("min(backlog %d from %s, somaxconn %d) = %d after a restart", *l.AppBacklog, l.AppBacklogFrom, after, p)
		if int64(*l.AppBacklog) < after {
			e.AppFix = appFix(l, nginx, after)
		}
	case int64(l.Backlog) < before:
		p := l.Backlog
		e.PredictedLimit = &p
		e.Prediction = fmt.Sprintf("stays %d: the limit is below the old somaxconn %d, so the application asks for %d; a restart keeps it", p, before, p)
		e.AppFix = appFix(l, nginx, after)
	default:
		e.Prediction = fmt.Sprintf("depends on the application's backlog: min(its listen() backlog, %d); Go services read somaxconn once at start and get it after a restart", after)
	}
	return e
}

func appFix(l Listener, nginx bool, somax int64) string {
	if nginx {
		return fmt.Sprintf("in nginx.conf: listen ... backlog=%d; then restart nginx (a reload keeps the old socket)", somax)
	}
	return fmt.Sprintf("raise the listen() backlog of %s to %d (or pass -1 / SOMAXCONN to follow somaxconn), then restart it", l.Addr, somax)
}
