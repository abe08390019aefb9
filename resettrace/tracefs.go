package resettrace

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The tracefs fallback, for kernels where BPF is refused or lacks BTF:
// tcptune's own tracefs instance (instances/tcptune-PID), never the global
// buffer or any other tracing setting. Stop removes the instance; an
// instance left by a killed run (its PID gone) is removed by the next run.
// Tracefs events carry no network namespace: rows say "unknown".

// TracefsRoots are where tracefs may be mounted, in order. Tests point it at
// a private mount.
var TracefsRoots = []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}

const instancePrefix = "tcptune-"

var tracefsEvents = []string{"tcp/tcp_send_reset", "tcp/tcp_receive_reset"}

// tracefsRoot returns the first mounted tracefs with the tcp events.
func tracefsRoot() (string, error) {
	denied := ""
	for _, r := range TracefsRoots {
		_, err := os.Stat(filepath.Join(r, "events", "tcp", "tcp_send_reset"))
		if err == nil {
			return r, nil
		}
		if errors.Is(err, fs.ErrPermission) && denied == "" {
			denied = r
		}
	}
	if denied != "" { // mounted, but closed to this user: not the same advice as "not mounted"
		return "", fmt.Errorf("%w: tracefs at %s is not open to this user", ErrNotPermitted, denied)
	}
	return "", fmt.Errorf("%w: tracefs is not mounted with the tcp events (mount -t tracefs nodev /sys/kernel/tracing)", ErrUnsupported)
}

// SweepStaleInstances removes tcptune's instances whose process is gone
// and returns their names.
func SweepStaleInstances(root string) []string {
	ents, _ := os.ReadDir(filepath.Join(root, "instances"))
	var swept []string
	for _, e := range ents {
		pid, err := strconv.Atoi(strings.TrimPrefix(e.Name(), instancePrefix))
		if !strings.HasPrefix(e.Name(), instancePrefix) || err != nil || pid <= 0 {
			continue
		}
		if pid == os.Getpid() || syscall.Kill(pid, 0) == nil || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue // alive (or not ours to judge)
		}
		if os.Remove(filepath.Join(root, "instances", e.Name())) == nil {
			swept = append(swept, e.Name())
		}
	}
	return swept
}

// tracefsTracer reads the tcp reset events from tcptune's instance.
type tracefsTracer struct {
	dir     string
	pipe    *os.File
	onEvent func(Event)
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	events  []Event
	hasRsn  bool
	reasons map[string]int // reason name -> enum value; nil without reasons
}

func startTracefs(opts Options) (*tracefsTracer, error) {
	root, err := tracefsRoot()
	if err != nil {
		return nil, err
	}
	SweepStaleInstances(root)
	dir := filepath.Join(root, "instances", instancePrefix+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("%w: create tracefs instance: %v", ErrNotPermitted, err)
		}
		return nil, fmt.Errorf("create tracefs instance: %w", err)
	}
	t := &tracefsTracer{dir: dir, onEvent: opts.OnEvent, stop: make(chan struct{}), done: make(chan struct{})}
	if b, err := os.ReadFile(filepath.Join(dir, "events", "tcp", "tcp_send_reset", "format")); err == nil {
		t.hasRsn = bytes.Contains(b, []byte("reason=")) && !opts.NoReason
	}
	if t.hasRsn {
		t.reasons = map[string]int{}
		if f, err := Probe(); err == nil {
			for v, n := range f.Reasons {
				t.reasons[n] = v
			}
		}
	}
	for _, ev := range tracefsEvents {
		if err := os.WriteFile(filepath.Join(dir, "events", ev, "enable"), []byte("1"), 0); err != nil {
			t.remove()
			return nil, fmt.Errorf("%w: enable %s in %s: %v", ErrUnsupported, ev, dir, err)
		}
	}
	f, err := os.OpenFile(filepath.Join(dir, "trace_pipe"), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.remove()
		return nil, fmt.Errorf("open %s/trace_pipe: %w", dir, err)
	}
	t.pipe = f
	go t.read()
	return t, nil
}

func (t *tracefsTracer) read() {
	defer close(t.done)
	fd := int(t.pipe.Fd())
	buf := make([]byte, 64<<10)
	var pending []byte
	for {
		n, err := syscall.Read(fd, buf)
		if n > 0 {
			pending = append(pending, buf[:n]...)
			for {
				i := bytes.IndexByte(pending, '\n')
				if i < 0 {
					break
				}
				if e, ok := parseTraceLine(string(pending[:i]), t.reasons); ok {
					e.Time = time.Now()
					if t.onEvent != nil {
						t.onEvent(e)
					}
					t.mu.Lock()
					t.events = append(t.events, e)
					t.mu.Unlock()
				}
				pending = pending[i+1:]
			}
			continue
		}
		if err != nil && err != syscall.EAGAIN && err != syscall.EINTR {
			return
		}
		select {
		case <-t.stop:
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (t *tracefsTracer) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.events)
}

// Stop disables the events, reads what is left and removes the instance.
func (t *tracefsTracer) Stop() []Event {
	for _, ev := range tracefsEvents {
		_ = os.WriteFile(filepath.Join(t.dir, "events", ev, "enable"), []byte("0"), 0)
	}
	time.Sleep(50 * time.Millisecond) // one more read of the pipe
	close(t.stop)
	<-t.done
	t.pipe.Close()
	t.remove()
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Event(nil), t.events...)
}

func (t *tracefsTracer) remove() {
	for i := 0; i < 20; i++ { // EBUSY while the kernel still holds a reader
		if err := os.Remove(t.dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// parseTraceLine parses one trace_pipe line of tcp_send_reset or
// tcp_receive_reset:
//
//	nginx-123 [001] ..s1. 5.1: tcp_send_reset: skbaddr=.. skaddr=.. src=127.0.0.1:80 dest=127.0.0.1:4000 state=TCP_TIME_WAIT reason=TCP_TIMEWAIT_SOCKET
//	curl-9 [000] ..s1. 5.2: tcp_receive_reset: family=AF_INET sport=4000 dport=80 saddr=127.0.0.1 daddr=127.0.0.1 saddrv6=.. daddrv6=.. sock_cookie=1
func parseTraceLine(line string, reasons map[string]int) (Event, bool) {
	head, body, ok := strings.Cut(line, ": tcp_send_reset: ")
	dir := Sent
	if !ok {
		head, body, ok = strings.Cut(line, ": tcp_receive_reset: ")
		dir = Received
	}
	if !ok {
		return Event{}, false
	}
	e := Event{Direction: dir, Reason: NoReason}
	// head: "COMM-PID [CPU] FLAGS TIMESTAMP"; COMM may contain spaces.
	if f := strings.Fields(head); len(f) >= 3 {
		task := strings.Join(f[:len(f)-3], " ")
		if i := strings.LastIndexByte(task, '-'); i > 0 {
			e.Comm = task[:i]
			if pid, err := strconv.ParseUint(task[i+1:], 10, 32); err == nil {
				e.PID = uint32(pid)
			}
		}
	}
	kv := map[string]string{}
	for _, f := range strings.Fields(body) {
		if k, v, ok := strings.Cut(f, "="); ok {
			kv[k] = v
		}
	}
	if dir == Sent {
		e.Local, _ = netip.ParseAddrPort(kv["src"])
		e.Remote, _ = netip.ParseAddrPort(kv["dest"])
		st := strings.TrimPrefix(kv["state"], "TCP_")
		for i, n := range stateNames {
			if n != "" && n == st {
				e.State, e.HasSocket = uint8(i), true
			}
		}
		e.Active = e.HasSocket && nullPointer(kv["skbaddr"])
		if r, ok := kv["reason"]; ok && reasons != nil {
			e.ReasonName, e.Reason = r, reasons[r]
		}
		return e, e.Local.IsValid()
	}
	e.HasSocket = true
	sport, _ := strconv.ParseUint(kv["sport"], 10, 16)
	dport, _ := strconv.ParseUint(kv["dport"], 10, 16)
	src, dst := kv["saddr"], kv["daddr"]
	if kv["family"] == "AF_INET6" {
		src, dst = kv["saddrv6"], kv["daddrv6"]
	}
	la, _ := netip.ParseAddr(src)
	ra, _ := netip.ParseAddr(dst)
	e.Local = netip.AddrPortFrom(la.Unmap(), uint16(sport))
	e.Remote = netip.AddrPortFrom(ra.Unmap(), uint16(dport))
	return e, la.IsValid()
}

func nullPointer(p string) bool {
	return p == "" || p == "(null)" || strings.Trim(p, "0x") == ""
}
