package apply

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tcptune/tcptune/profiles"
)

type fakeListeners []Listener

func (f fakeListeners) Listeners(context.Context) ([]Listener, error) { return f, nil }

// namingListeners leaves owners empty and names them on request, recording
// which listeners it was asked about.
type namingListeners struct {
	ls    []Listener
	asked *[]string
}

func (n namingListeners) Listeners(context.Context) ([]Listener, error) {
	return append([]Listener(nil), n.ls...), nil
}

func (n namingListeners) NameOwners(_ context.Context, ls []Listener) {
	for i := range ls {
		*n.asked = append(*n.asked, ls[i].Addr)
		ls[i].PID, ls[i].Process = int(ls[i].Inode), "p"+ls[i].Addr
	}
}

// TestRestartListNamesOnlyListedOwners: owner lookup (a walk of every
// process's fds) is asked only for the listeners on the restart list.
func TestRestartListNamesOnlyListedOwners(t *testing.T) {
	e := newTxEnv(t, stock)
	e.opts.NoPersist = true
	var asked []string
	e.opts.Listeners = namingListeners{asked: &asked, ls: []Listener{
		{Addr: "0.0.0.0:80", Backlog: 511, Inode: 10},
		{Addr: "127.0.0.1:9000", Backlog: 65535, Inode: 12},
	}}
	res, err := Apply(context.Background(), builtin(t, profiles.SynFlood), e.opts)
	must(t, err)
	if d := cmp.Diff([]string{"0.0.0.0:80"}, asked); d != "" {
		t.Errorf("owners looked up for (-want +got):\n%s", d)
	}
	// The prediction is made after naming, from what naming found (it
	// stays 511: already below the old somaxconn, the application caps it).
	limit := uint32(511)
	want := []RestartEntry{{Listener: Listener{Addr: "0.0.0.0:80", Backlog: 511, Inode: 10, PID: 10, Process: "p0.0.0.0:80"}, NewLimit: 65535,
		PredictedLimit: &limit}}
	if d := cmp.Diff(want, res.Restart, cmpopts.IgnoreFields(RestartEntry{}, "Prediction", "AppFix")); d != "" {
		t.Errorf("restart list (-want +got):\n%s", d)
	}
}

// TestRestartList: after raising somaxconn, only listeners capped below the
// new value are listed.
func TestRestartList(t *testing.T) {
	e := newTxEnv(t, stock)
	e.opts.NoPersist = true
	nginxBacklog := uint32(511)
	e.opts.Listeners = fakeListeners{
		{Addr: "0.0.0.0:80", Backlog: 511, PID: 10, Process: "nginx"},
		{Addr: "[::]:8080", Backlog: 4096, PID: 11, Process: "goapp"},
		{Addr: "127.0.0.1:9000", Backlog: 65535, PID: 12, Process: "tuned-already"},
		// Listened when somaxconn was 128; nginx -T says this listen has
		// no backlog= (nginx's default 511): a restart gives 511, not the
		// new somaxconn.
		{Addr: "127.0.0.1:8001", Backlog: 128, PID: 13, Process: "nginx", AppBacklog: &nginxBacklog, AppBacklogFrom: "nginx.conf:9 (no backlog=: nginx's default 511)"},
	}
	res, err := Apply(context.Background(), builtin(t, profiles.SynFlood), e.opts)
	must(t, err)
	u := func(v uint32) *uint32 { return &v }
	want := []RestartEntry{
		// Capped below the old somaxconn: the application asks for 511, a
		// restart does not change it (the seed's nginx: 511 in every run).
		{Listener: Listener{Addr: "0.0.0.0:80", Backlog: 511, PID: 10, Process: "nginx"}, NewLimit: 65535, PredictedLimit: u(511),
			Prediction: "stays 511: the limit is below the old somaxconn 4096, so the application asks for 511; a restart keeps it",
			AppFix:     "in nginx.conf: listen ... backlog=65535; then restart nginx (a reload keeps the old socket)"},
		{Listener: Listener{Addr: "[::]:8080", Backlog: 4096, PID: 11, Process: "goapp"}, NewLimit: 65535,
			Prediction: "depends on the application's backlog: min(its listen() backlog, 65535); Go services read somaxconn once at start and get it after a restart"},
		{Listener: Listener{Addr: "127.0.0.1:8001", Backlog: 128, PID: 13, Process: "nginx", AppBacklog: &nginxBacklog, AppBacklogFrom: "nginx.conf:9 (no backlog=: nginx's default 511)"},
			NewLimit: 65535, PredictedLimit: u(511),
			Prediction: "min(backlog 511 from nginx.conf:9 (no backlog=: nginx's default 511), somaxconn 65535) = 511 after a restart",
			AppFix:     "in nginx.conf: listen ... backlog=65535; then restart nginx (a reload keeps the old socket)"},
	}
	if d := cmp.Diff(want, res.Restart); d != "" {
		t.Errorf("restart list (-want +got):\n%s", d)
	}
	// Nothing raised: no list.
	res, err = Apply(context.Background(), builtin(t, profiles.SynFlood), e.opts)
	must(t, err)
	if len(res.Restart) != 0 {
		t.Errorf("restart list without a change: %v", res.Restart)
	}
}
