package resettrace

import (
	"context"
	"fmt"
	"strings"

	"github.com/tcptune/tcptune/doctor"
)

// AnnotateFromListeners completes the rows of the caller's network
// namespace from its listening sockets: a row whose local endpoint is a
// listener and whose process the event could not tell (resets answered in
// softirq context, time-wait sockets) gets the listener's owner; a
// keepalive-race row at an nginx listener gets nginx's own keepalive_timeout
// (nginx -T with that process's -p/-c), the number the client's idle
// timeout must stay below. Rows of other namespaces are left as they are.
func AnnotateFromListeners(ctx context.Context, r *Report, procRoot string) {
	self, ok := statInode(procRoot + "/thread-self/ns/net")
	if !ok || len(r.Rows) == 0 {
		return
	}
	ls, err := doctor.LiveListeners()
	if err != nil {
		return
	}
	doctor.AttachOwners(procRoot, ls)
	nginx := map[int]*doctor.NginxConfig{}
	for i := range r.Rows {
		row := &r.Rows[i]
		if row.Direction != Sent || uint64(row.Netns.Inode) != self {
			continue
		}
		for _, l := range ls {
			if l.PID == 0 || (row.Local != l.Endpoint() && !strings.HasSuffix(row.Local, fmt.Sprintf(":%d", l.Port))) {
				continue
			}
			if row.Process == nil {
				row.Process = &Process{PID: uint32(l.PID), Comm: l.Process}
			}
			if row.Cause == KeepaliveRace && strings.Contains(l.Process, "nginx") {
				cfg, seen := nginx[l.PID]
				if !seen {
					cfg, _ = doctor.ReadNginxConfig(ctx, doctor.NginxArgsOf(procRoot, l.PID)...)
					nginx[l.PID] = cfg
				}
				if cfg != nil {
					row.Fix.Action = fmt.Sprintf("nginx on %s closes idle connections after keepalive_timeout %s (%s): keep the clients' idle timeout below it. ",
						row.Local, cfg.KeepaliveTimeout.Value, cfg.KeepaliveTimeout.Where) + row.Fix.Action
				}
			}
			break
		}
	}
}
