package doctor

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tcptune/tcptune/sysctl"
)

// hostSysctls is the baseline of a default Linux 6.x host.
func hostSysctls(over map[string]string) Sysctls {
	base := map[string]string{
		"net.core.somaxconn": "4096", "net.ipv4.tcp_max_syn_backlog": "2048", "net.ipv4.tcp_abort_on_overflow": "0",
		"net.ipv4.tcp_syncookies": "1", "net.ipv4.tcp_tw_reuse": "2", "net.ipv4.ip_local_port_range": "32768 60999",
		"net.ipv4.tcp_max_tw_buckets": "131072", "net.ipv4.tcp_max_orphans": "131072", "net.ipv4.tcp_fin_timeout": "60",
		"net.ipv4.tcp_mem": "287898 383865 575796", "net.core.netdev_max_backlog": "1000", "net.core.netdev_budget": "300",
	}
	for k, v := range over {
		if v == "" {
			delete(base, k)
		} else {
			base[k] = v
		}
	}
	s := Sysctls{}
	for k, v := range base {
		s[sysctl.MustKey(k)] = sysctl.Value(v)
	}
	return s
}

// reading is one recorded Snapshot, written compactly.
type reading struct {
	ext, tcp  Counters
	sockstat  *Sockstat
	softnet   *Softnet
	listeners []Listener
}

func (r reading) snapshot(s Sysctls) *Snapshot {
	return &Snapshot{TCPExt: r.ext, TCP: r.tcp, Sockstat: r.sockstat, Softnet: r.softnet,
		Listeners: r.listeners, ListenersRead: true, Sysctls: s}
}

var (
	idle = reading{
		ext:      Counters{ListenOverflows: 5000, ListenDrops: 5000, EmbryonicRsts: 10, TCPReqQFullDrop: 3, TCPReqQFullDoCookies: 0, SyncookiesSent: 0, SyncookiesFailed: 0, TCPTimeWaitOverflow: 0, TCPAbortOnMemory: 0, TCPMemoryPressures: 0},
		tcp:      Counters{OutRsts: 100},
		sockstat: &Sockstat{InUse: ip(50), Orphan: ip(2), TW: ip(300), Mem: ip(40)},
		softnet:  &Softnet{CPUs: 4, Dropped: 7, TimeSqueezed: 90, Processed: 1e6},
		listeners: []Listener{
			{Family: "ipv4", Address: "0.0.0.0", Port: 80, Queue: 0, MaxQueue: 511, Inode: 11, PID: 100, Process: "nginx"},
			{Family: "ipv4", Address: "127.0.0.1", Port: 9000, Queue: 0, MaxQueue: 4096, Inode: 12},
		},
	}
)

// with returns a copy of r with counters added and fields replaced.
func (r reading) with(add Counters, addTCP Counters, f func(*reading)) reading {
	out := reading{ext: Counters{}, tcp: Counters{}, sockstat: r.sockstat, softnet: r.softnet, listeners: append([]Listener(nil), r.listeners...)}
	for k, v := range r.ext {
		out.ext[k] = v + add[k]
	}
	for k, v := range r.tcp {
		out.tcp[k] = v + addTCP[k]
	}
	if f != nil {
		f(&out)
	}
	return out
}

func fullAt(port uint16, q uint32) func(*reading) {
	return func(r *reading) {
		for i := range r.listeners {
			if r.listeners[i].Port == port {
				r.listeners[i].Queue = q
			}
		}
	}
}

func TestRules(t *testing.T) {
	tests := []struct {
		name          string
		before, after reading
		once          bool
		sysctls       map[string]string
		wantIDs       []string
		check         func(t *testing.T, r *Report)
	}{
		{name: "healthy: counters accumulated since boot do not count",
			before: idle, after: idle.with(nil, nil, nil), wantIDs: nil},
		{name: "accept queue overflow, abort_on_overflow=0: slow connects, nginx's 511 named",
			before: idle, after: idle.with(Counters{ListenOverflows: 40, ListenDrops: 40}, nil, fullAt(80, 512)),
			wantIDs: []string{"accept-queue-overflow", "listener-backlog-below-somaxconn"},
			check: func(t *testing.T, r *Report) {
				f := r.Findings[0]
				mustContain(t, f.Summary, "0.0.0.0:80", "overflowed 40 times", "slow")
				mustNotContain(t, f.Summary, "reset")
				if d := cmp.Diff([]string{"0.0.0.0:80"}, f.Listeners); d != "" {
					t.Errorf("listeners: %s", d)
				}
				if f.Fix.Profile != "high-concurrency" || f.Fix.Command != "tcptune apply high-concurrency" ||
					len(f.Fix.Keys) != 1 || f.Fix.Keys[0] != (FixKey{Key: "net.core.somaxconn", Value: "65535"}) {
					t.Errorf("fix = %+v", f.Fix)
				}
				mustContain(t, f.Fix.Restart, "nginx (pid 100")
				ev := evidenceByName(f, "TcpExt.ListenOverflows")
				if ev == nil || *ev.Delta != 40 || *ev.Before != 5000 || *ev.PerSecond != 8 {
					t.Errorf("evidence = %+v", ev)
				}
				b := r.Findings[1]
				mustContain(t, b.Summary, "limit of 511", "somaxconn=4096")
				mustContain(t, b.Explanation, "nginx")
				mustContain(t, b.Fix.Command, "listen 80 backlog=4096")
			}},
		{name: "accept queue overflow, abort_on_overflow=1: clients get resets",
			before: idle, after: idle.with(Counters{ListenOverflows: 9, ListenDrops: 9, EmbryonicRsts: 9}, Counters{OutRsts: 9}, fullAt(9000, 4097)),
			sysctls: map[string]string{"net.ipv4.tcp_abort_on_overflow": "1"},
			wantIDs: []string{"accept-queue-overflow", "risky-setting"},
			check: func(t *testing.T, r *Report) {
				f := r.Findings[0]
				mustContain(t, f.Summary, `"connection reset by peer"`, "127.0.0.1:9000")
				for _, n := range []string{"TcpExt.EmbryonicRsts", "Tcp.OutRsts"} {
					if e := evidenceByName(f, n); e == nil || *e.Delta != 9 {
						t.Errorf("evidence %s = %+v", n, e)
					}
				}
				if d := cmp.Diff([]FixKey{{Key: "net.core.somaxconn", Value: "65535"}, {Key: "net.ipv4.tcp_abort_on_overflow", Value: "0"}}, f.Fix.Keys); d != "" {
					t.Errorf("fix keys: %s", d)
				}
				// 4096 == somaxconn: no backlog finding, raising somaxconn helps.
			}},
		{name: "since boot view reports accumulated overflows",
			after: idle, once: true,
			wantIDs: []string{"accept-queue-overflow", "syn-queue-overflow", "softnet-drops"},
			check: func(t *testing.T, r *Report) {
				mustContain(t, r.Findings[0].Summary, "5000 times since boot")
				if e := evidenceByName(r.Findings[0], "TcpExt.ListenOverflows"); e == nil || e.Delta != nil || *e.After != 5000 {
					t.Errorf("since-boot evidence = %+v", e)
				}
			}},
		{name: "old kernel: absent counters are not zero and not findings",
			before: reading{ext: Counters{ListenOverflows: 1}}, after: reading{ext: Counters{ListenOverflows: 1}}, wantIDs: nil},
		{name: "only ListenDrops on a kernel without ListenOverflows",
			before: reading{ext: Counters{ListenDrops: 1}}, after: reading{ext: Counters{ListenDrops: 4}},
			wantIDs: []string{"accept-queue-overflow"}},
		{name: "counter went backwards: could not tell",
			before: idle, after: idle.with(nil, nil, func(r *reading) { r.ext[ListenOverflows] = 1 }), wantIDs: nil},
		{name: "SYN queue drops",
			before: idle, after: idle.with(Counters{TCPReqQFullDrop: 12}, nil, nil),
			sysctls: map[string]string{"net.ipv4.tcp_syncookies": "0"},
			wantIDs: []string{"syn-queue-overflow", "risky-setting"},
			check: func(t *testing.T, r *Report) {
				mustContain(t, r.Findings[0].Summary, "12 SYNs dropped")
				if r.Findings[0].Fix.Profile != "syn-flood" {
					t.Errorf("fix = %+v", r.Findings[0].Fix)
				}
				mustContain(t, r.Findings[1].Summary, "tcp_syncookies=0")
			}},
		{name: "syncookies sent and failing",
			before: idle, after: idle.with(Counters{TCPReqQFullDoCookies: 500, SyncookiesSent: 500, SyncookiesFailed: 80}, nil, nil),
			wantIDs: []string{"syn-flood"},
			check: func(t *testing.T, r *Report) {
				mustContain(t, r.Findings[0].Summary, "500 syncookies sent, 80 invalid")
			}},
		{name: "softnet drops are host-wide",
			before: idle, after: idle.with(nil, nil, func(r *reading) { r.softnet = &Softnet{CPUs: 4, Dropped: 57, TimeSqueezed: 95, Processed: 2e6} }),
			wantIDs: []string{"softnet-drops"},
			check: func(t *testing.T, r *Report) {
				f := r.Findings[0]
				mustContain(t, f.Summary, "50 packets dropped")
				if len(f.Fix.Keys) != 2 || !f.Fix.Keys[0].HostWide || f.Fix.Keys[0].Value != "16384" || f.Fix.Keys[1].Key != "net.core.netdev_budget" {
					t.Errorf("fix = %+v", f.Fix)
				}
			}},
		{name: "softnet CPU count changed: could not tell",
			before: idle, after: idle.with(nil, nil, func(r *reading) { r.softnet = &Softnet{CPUs: 8, Dropped: 100} }), wantIDs: nil},
		{name: "TIME_WAIT at 70% of the port range",
			before: idle, after: idle.with(nil, nil, func(r *reading) { r.sockstat = &Sockstat{TW: ip(20000)} }),
			wantIDs: []string{"ephemeral-port-pressure"},
			check: func(t *testing.T, r *Report) {
				f := r.Findings[0]
				if f.Severity != Warning {
					t.Errorf("severity %s", f.Severity)
				}
				mustContain(t, f.Summary, "20000 sockets in TIME_WAIT against 28232 ephemeral ports (70%)")
				if d := cmp.Diff([]FixKey{{Key: "net.ipv4.ip_local_port_range", Value: "10240 65535"}, {Key: "net.ipv4.tcp_tw_reuse", Value: "1"}}, f.Fix.Keys); d != "" {
					t.Error(d)
				}
			}},
		{name: "TIME_WAIT at 95%: critical",
			before: idle, after: idle.with(nil, nil, func(r *reading) { r.sockstat = &Sockstat{TW: ip(26900)} }),
			wantIDs: []string{"ephemeral-port-pressure"},
			check: func(t *testing.T, r *Report) {
				if r.Findings[0].Severity != Critical {
					t.Errorf("severity %s", r.Findings[0].Severity)
				}
			}},
		{name: "time wait bucket overflow",
			before: idle, after: idle.with(Counters{TCPTimeWaitOverflow: 3000}, nil, nil),
			wantIDs: []string{"time-wait-bucket-overflow"},
			check: func(t *testing.T, r *Report) {
				f := r.Findings[0]
				if f.Fix.Profile != "" || f.Fix.Keys[0] != (FixKey{Key: "net.ipv4.tcp_max_tw_buckets", Value: "262144"}) {
					t.Errorf("fix = %+v", f.Fix)
				}
				mustContain(t, f.Fix.Command, "net.ipv4.tcp_max_tw_buckets: {value: \"262144\", op: at-least}")
			}},
		{name: "orphans over half of tcp_max_orphans with aborts",
			before: idle, after: idle.with(Counters{TCPAbortOnMemory: 25}, nil, func(r *reading) { r.sockstat = &Sockstat{Orphan: ip(70000)} }),
			wantIDs: []string{"orphan-pressure"},
			check: func(t *testing.T, r *Report) {
				mustContain(t, r.Findings[0].Summary, "70000 orphaned", "53%", "25 connections aborted")
				// tcp_max_orphans is host-wide (ipv4_table); fin_timeout is not.
				want := []FixKey{{Key: "net.ipv4.tcp_fin_timeout", Value: "15"}, {Key: "net.ipv4.tcp_max_orphans", Value: "262144", HostWide: true}}
				if d := cmp.Diff(want, r.Findings[0].Fix.Keys); d != "" {
					t.Errorf("orphan fix keys (-want +got):\n%s", d)
				}
			}},
		{name: "tcp memory pressure",
			before: idle, after: idle.with(Counters{TCPMemoryPressures: 2}, nil, func(r *reading) { r.sockstat = &Sockstat{Mem: ip(400000)} }),
			wantIDs: []string{"tcp-memory-pressure"},
			check: func(t *testing.T, r *Report) {
				f := r.Findings[0]
				if !f.Fix.Keys[0].HostWide || f.Fix.Keys[0].Value != "575796 767730 1151592" {
					t.Errorf("fix = %+v", f.Fix)
				}
			}},
		{name: "tw_recycle on an old kernel",
			before: idle, after: idle, sysctls: map[string]string{"net.ipv4.tcp_tw_recycle": "1"},
			wantIDs: []string{"risky-setting"},
			check: func(t *testing.T, r *Report) {
				if r.Findings[0].Severity != Critical {
					t.Error("tw_recycle=1 should be critical")
				}
			}},
		{name: "missing sysctls: no guess",
			before: idle, after: idle.with(nil, nil, func(r *reading) { r.sockstat = &Sockstat{TW: ip(27000), Orphan: ip(131072)} }),
			sysctls: map[string]string{"net.ipv4.ip_local_port_range": "", "net.ipv4.tcp_max_orphans": ""},
			wantIDs: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := hostSysctls(tt.sysctls)
			w := &Window{After: tt.after.snapshot(s)}
			if !tt.once {
				w.Before, w.Interval = tt.before.snapshot(s), 5*time.Second
			}
			r := Analyze(w)
			var ids []string
			for _, f := range r.Findings {
				ids = append(ids, f.ID)
				if f.Summary == "" || f.Explanation == "" || (f.Fix.Command == "" && f.Fix.Restart == "") {
					t.Errorf("%s: incomplete finding %+v", f.ID, f)
				}
			}
			if d := cmp.Diff(tt.wantIDs, ids); d != "" {
				t.Fatalf("finding ids (-want +got):\n%s", d)
			}
			if r.Healthy != (len(ids) == 0) {
				t.Errorf("Healthy = %v with %d findings", r.Healthy, len(ids))
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

func TestMergeListeners(t *testing.T) {
	s := hostSysctls(nil)
	before := &Snapshot{Sysctls: s, Listeners: []Listener{{Port: 80, Queue: 511, MaxQueue: 511, Inode: 1}, {Port: 22, Queue: 0, MaxQueue: 128, Inode: 2}}}
	after := &Snapshot{Sysctls: s, Listeners: []Listener{{Port: 80, Queue: 3, MaxQueue: 511, Inode: 1, PID: 9, Process: "nginx"}, {Port: 9, Queue: 3700, MaxQueue: 4096, Inode: 3}}}
	got := mergeListeners(&Window{Before: before, After: after})
	want := []ListenerReport{
		{Listener: Listener{Port: 9, Queue: 3700, MaxQueue: 4096, Inode: 3}, PeakQueue: 3700, Status: StatusNearLimit},
		{Listener: Listener{Port: 22, Queue: 0, MaxQueue: 128, Inode: 2}, PeakQueue: 0, Status: StatusOK, BelowSomaxconn: true},
		{Listener: Listener{Port: 80, Queue: 3, MaxQueue: 511, Inode: 1, PID: 9, Process: "nginx"}, PeakQueue: 511, Status: StatusFull, BelowSomaxconn: true},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	for _, c := range []struct {
		q, max uint32
		want   string
	}{{0, 0, StatusOK}, {1, 0, StatusFull}, {2, 2, StatusFull}, {3, 2, StatusFull}, {9, 10, StatusNearLimit}, {8, 10, StatusOK}} {
		if got := queueStatus(c.q, c.max); got != c.want {
			t.Errorf("queueStatus(%d, %d) = %s, want %s", c.q, c.max, got, c.want)
		}
	}
}

func evidenceByName(f Finding, name string) *Evidence {
	for i := range f.Evidence {
		if f.Evidence[i].Name == name {
			return &f.Evidence[i]
		}
	}
	return nil
}

func mustContain(t *testing.T, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%q does not contain %q", s, sub)
		}
	}
}

func mustNotContain(t *testing.T, s, sub string) {
	t.Helper()
	if strings.Contains(s, sub) {
		t.Errorf("%q contains %q", s, sub)
	}
}
