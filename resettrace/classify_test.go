package resettrace

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		e    Event
		want Cause
	}{
		{Event{Direction: Sent, ReasonName: "NO_SOCKET"}, NoListener},
		{Event{Direction: Sent, HasSocket: true, State: stateListen, ReasonName: "INVALID_SYN"}, AcceptQueueOverflow},
		{Event{Direction: Sent, HasSocket: true, State: stateTimeWait, ReasonName: "TCP_TIMEWAIT_SOCKET"}, KeepaliveRace},
		{Event{Direction: Sent, HasSocket: true, State: 5, ReasonName: "TCP_ABORT_ON_DATA"}, KeepaliveRace},
		{Event{Direction: Sent, HasSocket: true, Active: true, State: 7, ReasonName: "TCP_ABORT_ON_CLOSE"}, UnreadData},
		{Event{Direction: Sent, HasSocket: true, Active: true, State: 7, ReasonName: "TCP_DISCONNECT_WITH_DATA"}, UnreadData},
		{Event{Direction: Sent, HasSocket: true, Active: true, State: 7, ReasonName: "TCP_STATE"}, LingerAbort},
		{Event{Direction: Sent, HasSocket: true, Active: true, Orphan: true, State: 7, ReasonName: "TCP_STATE"}, ListenerClosed},
		{Event{Direction: Sent, HasSocket: true, State: 1, ReasonName: "TCP_STATE"}, UnexpectedSegment},
		{Event{Direction: Sent, HasSocket: true, Active: true, ReasonName: "TCP_ABORT_ON_LINGER"}, LingerAbort},
		{Event{Direction: Sent, HasSocket: true, Active: true, ReasonName: "TCP_ABORT_ON_MEMORY"}, MemoryPressure},
		{Event{Direction: Sent, HasSocket: true, Active: true, ReasonName: "TCP_KEEPALIVE_TIMEOUT"}, PeerTimeout},
		{Event{Direction: Sent, HasSocket: true, ReasonName: "TCP_INVALID_ACK_SEQUENCE"}, UnexpectedSegment},
		{Event{Direction: Sent, HasSocket: true, ReasonName: "MPTCP_RST_EUNSPEC"}, Other},
		{Event{Direction: Received, HasSocket: true, State: 1, Reason: NoReason}, ResetReceived},
		// Before 6.10: by state.
		{Event{Direction: Sent, Reason: NoReason}, NoListener},
		{Event{Direction: Sent, Reason: NoReason, HasSocket: true, State: stateListen}, AcceptQueueOverflow},
		{Event{Direction: Sent, Reason: NoReason, HasSocket: true, State: stateTimeWait}, KeepaliveRace},
		{Event{Direction: Sent, Reason: NoReason, HasSocket: true, Active: true, State: 7}, ActiveAbort},
		{Event{Direction: Sent, Reason: NoReason, HasSocket: true, State: 1}, Other},
	} {
		if got := Classify(tc.e); got != tc.want {
			t.Errorf("Classify(%+v) = %s, want %s", tc.e, got, tc.want)
		}
	}
	for _, c := range Causes {
		if Explain(c) == "" || FixFor(c).Summary == "" {
			t.Errorf("cause %s has no explanation or fix", c)
		}
	}
}

func TestAggregate(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ap := netip.MustParseAddrPort
	ev := func(i int, local, remote string, dir Direction, reason string) Event {
		return Event{Time: t0.Add(time.Duration(i) * time.Second), Direction: dir, ReasonName: reason, HasSocket: true,
			State: stateTimeWait, Netns: 7, Local: ap(local), Remote: ap(remote)}
	}
	NetnsResolver = func(ino uint32) Netns { return Netns{Inode: ino, Name: "test"} }
	defer func() { NetnsResolver = defaultNetnsName }()
	rows := Aggregate([]Event{
		ev(0, "10.0.0.1:80", "10.0.0.9:40000", Sent, "TCP_TIMEWAIT_SOCKET"),
		ev(1, "10.0.0.1:80", "10.0.0.9:40001", Sent, "TCP_TIMEWAIT_SOCKET"),
		ev(2, "10.0.0.1:80", "10.0.0.8:40002", Sent, "TCP_TIMEWAIT_SOCKET"),
		// a client's resets received on ephemeral ports: one row
		ev(3, "10.0.0.1:40100", "10.0.0.5:443", Received, ""),
		ev(4, "10.0.0.1:40101", "10.0.0.5:443", Received, ""),
	})
	if len(rows) != 2 {
		t.Fatalf("rows %+v", rows)
	}
	r := rows[0]
	if r.Cause != KeepaliveRace || r.Count != 3 || r.Local != "10.0.0.1:80" || r.Remote != "10.0.0.9" || r.Remotes != 2 ||
		!r.FirstSeen.Equal(t0) || !r.LastSeen.Equal(t0.Add(2*time.Second)) || r.Reasons["TCP_TIMEWAIT_SOCKET"] != 3 {
		t.Errorf("keepalive row %+v", r)
	}
	c := rows[1]
	if c.Cause != ResetReceived || c.Local != "10.0.0.1:*" || c.Remote != "10.0.0.5:443" || c.Count != 2 ||
		c.Reasons["unavailable"] != 2 || !strings.Contains(c.Examine, "10.0.0.5:443") {
		t.Errorf("received row %+v", c)
	}
	if d := Dominant(rows); d != KeepaliveRace {
		t.Errorf("dominant %s", d)
	}
	if d := Dominant(rows[1:]); d != ResetReceived {
		t.Errorf("dominant of received only: %s", d)
	}
	if d := Dominant(nil); d != "" {
		t.Errorf("dominant of nothing: %q", d)
	}
}

func TestDescribeCgroup(t *testing.T) {
	const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	const podUID = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
	for _, tc := range []struct{ path, unit, container string }{
		{"/system.slice/nginx.service", "nginx.service", ""},
		{"/system.slice/docker-" + hex64 + ".scope", "docker-" + hex64 + ".scope", "docker:0123456789ab"},
		{"/machine.slice/machine-web1.scope/payload", "machine-web1.scope", "machine web1"},
		{"/kubepods/burstable/pod" + podUID + "/" + hex64, "", "pod " + podUID + " container:0123456789ab"},
		{"/", "", ""},
	} {
		var p Process
		describeCgroup(&p, tc.path)
		if p.Unit != tc.unit || p.Container != tc.container || p.Cgroup != tc.path {
			t.Errorf("%s: %+v, want unit %q container %q", tc.path, p, tc.unit, tc.container)
		}
	}
}
