package apply

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcptune/tcptune/profiles"
)

type fakeListeners []Listener

func (f fakeListeners) Listeners(context.Context) ([]Listener, error) { return f, nil }

// TestRestartList: after raising somaxconn, only listeners capped below the
// new value are listed.
func TestRestartList(t *testing.T) {
	e := newTxEnv(t, stock)
	e.opts.NoPersist = true
	e.opts.Listeners = fakeListeners{
		{Addr: "0.0.0.0:80", Backlog: 511, PID: 10, Process: "nginx"},
		{Addr: "[::]:8080", Backlog: 4096, PID: 11, Process: "goapp"},
		{Addr: "127.0.0.1:9000", Backlog: 65535, PID: 12, Process: "tuned-already"},
	}
	res, err := Apply(context.Background(), builtin(t, profiles.SynFlood), e.opts)
	must(t, err)
	want := []RestartEntry{
		{Listener: Listener{Addr: "0.0.0.0:80", Backlog: 511, PID: 10, Process: "nginx"}, NewLimit: 65535},
		{Listener: Listener{Addr: "[::]:8080", Backlog: 4096, PID: 11, Process: "goapp"}, NewLimit: 65535},
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
