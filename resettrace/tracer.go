package resettrace

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"
)

var (
	// ErrNotPermitted: the kernel refused to load or attach the programs
	// (no CAP_BPF/CAP_PERFMON or CAP_SYS_ADMIN).
	ErrNotPermitted = errors.New("not permitted to trace TCP resets")
	// ErrUnsupported: the kernel lacks BTF or the tcp reset tracepoints.
	ErrUnsupported = errors.New("this kernel cannot trace TCP resets")
)

// Options configure a Tracer.
type Options struct {
	// NoReason loads the program for kernels without the reason argument
	// even where the kernel has it (tests of the pre-6.10 path).
	NoReason bool
	// OnEvent, when set, is called for every event (from one goroutine).
	OnEvent func(Event)
	// NoFallback: fail instead of falling back to a tracefs instance.
	NoFallback bool
	// Tracefs: use the tracefs instance even where BPF works (tests).
	Tracefs bool
}

// Tracer holds the loaded programs and their links. Stop releases them;
// so does the kernel when the process dies.
type Tracer struct {
	objs    resettraceObjects
	links   []link.Link
	rd      *ringbuf.Reader
	reasons map[int]string
	hasRsn  bool
	onEvent func(Event)

	mu     sync.Mutex
	events []Event
	done   chan struct{}
	// clock: ktime (CLOCK_MONOTONIC) at wall time t0
	mono0 time.Duration
	t0    time.Time
}

// KernelFacts is what the running kernel's BTF says about the tracepoints.
type KernelFacts struct {
	SendReset, ReceiveReset bool
	// HasReason: tcp_send_reset takes enum sk_rst_reason (Linux 6.10+).
	HasReason bool
	// Reasons maps enum sk_rst_reason values to their names.
	Reasons map[int]string
}

// Probe reads the kernel's BTF for the tracepoints and the reason enum.
func Probe() (*KernelFacts, error) {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return nil, fmt.Errorf("%w: no kernel BTF (/sys/kernel/btf/vmlinux): %v", ErrUnsupported, err)
	}
	f := &KernelFacts{Reasons: map[int]string{}}
	if params, ok := tracepointParams(spec, "btf_trace_tcp_send_reset"); ok {
		f.SendReset = true
		f.HasReason = params >= 4 // (void *, sk, skb, reason)
	}
	_, f.ReceiveReset = tracepointParams(spec, "btf_trace_tcp_receive_reset")
	var en *btf.Enum
	if err := spec.TypeByName("sk_rst_reason", &en); err == nil {
		for _, v := range en.Values {
			f.Reasons[int(v.Value)] = strings.TrimPrefix(v.Name, "SK_RST_REASON_")
		}
	}
	return f, nil
}

func tracepointParams(spec *btf.Spec, name string) (int, bool) {
	var td *btf.Typedef
	if err := spec.TypeByName(name, &td); err != nil {
		return 0, false
	}
	p, ok := td.Type.(*btf.Pointer)
	if !ok {
		return 0, false
	}
	fp, ok := p.Target.(*btf.FuncProto)
	if !ok {
		return 0, false
	}
	return len(fp.Params), true
}

// Start loads and attaches the programs and starts collecting events.
func Start(opts Options) (*Tracer, error) {
	facts, err := Probe()
	if err != nil {
		return nil, err
	}
	if !facts.SendReset || !facts.ReceiveReset {
		return nil, fmt.Errorf("%w: no tcp:tcp_send_reset / tcp:tcp_receive_reset tracepoint in the kernel's BTF", ErrUnsupported)
	}
	spec, err := loadResettrace()
	if err != nil {
		return nil, fmt.Errorf("load embedded BPF object: %w", err)
	}
	t := &Tracer{reasons: facts.Reasons, hasRsn: facts.HasReason && !opts.NoReason, onEvent: opts.OnEvent, done: make(chan struct{})}
	send := "tcptune_rst_send"
	if t.hasRsn {
		delete(spec.Programs, "tcptune_rst_send_noreason")
	} else {
		delete(spec.Programs, send)
		send = "tcptune_rst_send_noreason"
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		return nil, loadError(err)
	}
	t.objs.Events = coll.Maps["events"]
	t.objs.Lost = coll.Maps["lost"]
	progs := []*ebpf.Program{coll.Programs[send], coll.Programs["tcptune_rst_recv"]}
	t.objs.TcptuneRstRecv = progs[1]
	if t.hasRsn {
		t.objs.TcptuneRstSend = progs[0]
	} else {
		t.objs.TcptuneRstSendNoreason = progs[0]
	}
	for _, p := range progs {
		l, err := link.AttachTracing(link.TracingOptions{Program: p, AttachType: ebpf.AttachTraceRawTp})
		if err != nil {
			t.close()
			return nil, loadError(err)
		}
		t.links = append(t.links, l)
	}
	t.rd, err = ringbuf.NewReader(t.objs.Events)
	if err != nil {
		t.close()
		return nil, fmt.Errorf("open ring buffer: %w", err)
	}
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	t.t0, t.mono0 = time.Now(), time.Duration(ts.Nano())
	go t.read()
	return t, nil
}

func loadError(err error) error {
	if errors.Is(err, os.ErrPermission) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return fmt.Errorf("%w: %v", ErrNotPermitted, err)
	}
	if errors.Is(err, ebpf.ErrNotSupported) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	return fmt.Errorf("load BPF programs: %w", err)
}

// HasReason reports whether events carry the kernel's reason.
func (t *Tracer) HasReason() bool { return t.hasRsn }

// ProgramIDs are the kernel ids of the loaded programs (tests check they
// are gone after the process is killed).
func (t *Tracer) ProgramIDs() []ebpf.ProgramID {
	var ids []ebpf.ProgramID
	for _, p := range []*ebpf.Program{t.objs.TcptuneRstSend, t.objs.TcptuneRstSendNoreason, t.objs.TcptuneRstRecv} {
		if p == nil {
			continue
		}
		if info, err := p.Info(); err == nil {
			if id, ok := info.ID(); ok {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

func (t *Tracer) read() {
	defer close(t.done)
	var rec ringbuf.Record
	for {
		if err := t.rd.ReadInto(&rec); err != nil {
			return // closed
		}
		var raw resettraceEvent
		if err := binary.Read(bytes.NewReader(rec.RawSample), binary.NativeEndian, &raw); err != nil {
			continue
		}
		e := t.decode(&raw)
		if t.onEvent != nil {
			t.onEvent(e)
		}
		t.mu.Lock()
		t.events = append(t.events, e)
		t.mu.Unlock()
	}
}

func (t *Tracer) decode(r *resettraceEvent) Event {
	e := Event{
		Time:          t.t0.Add(time.Duration(r.TsNs) - t.mono0),
		Direction:     Sent,
		Reason:        int(r.Reason),
		State:         r.State,
		HasSocket:     r.HasSk == 1,
		Active:        r.HasSk == 1 && r.HasSkb == 0,
		Orphan:        r.HasSk == 1 && r.HasFile == 0 && r.State != stateTimeWait && r.State != 12,
		Netns:         r.Netns,
		PID:           r.Pid,
		SocketCgroup:  r.SkCgroup,
		CurrentCgroup: r.CurCgroup,
	}
	if r.Kind == 1 {
		e.Direction = Received
		e.Active = false
	}
	if e.Reason != NoReason {
		if n, ok := t.reasons[e.Reason]; ok {
			e.ReasonName = n
		} else {
			e.ReasonName = fmt.Sprintf("reason-%d", e.Reason)
		}
	}
	comm := make([]byte, 0, len(r.Comm))
	for _, c := range r.Comm {
		if c == 0 {
			break
		}
		comm = append(comm, byte(c))
	}
	e.Comm = string(comm)
	e.Local = addrPort(r.Family, r.Laddr, r.Lport)
	e.Remote = addrPort(r.Family, r.Raddr, r.Rport)
	return e
}

func addrPort(family uint16, a [16]uint8, port uint16) netip.AddrPort {
	var ip netip.Addr
	if family == unix.AF_INET6 {
		ip = netip.AddrFrom16(a).Unmap()
	} else {
		ip = netip.AddrFrom4([4]byte{a[0], a[1], a[2], a[3]})
	}
	return netip.AddrPortFrom(ip, port)
}

// Lost is how many events the ring buffer had no room for.
func (t *Tracer) Lost() uint64 {
	var per []uint64
	if err := t.objs.Lost.Lookup(uint32(0), &per); err != nil {
		return 0
	}
	var n uint64
	for _, v := range per {
		n += v
	}
	return n
}

// Events returns the events seen so far.
func (t *Tracer) Events() []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Event(nil), t.events...)
}

// Stop detaches the programs, drains what was already recorded and
// returns every event.
func (t *Tracer) Stop() []Event {
	for _, l := range t.links {
		_ = l.Close()
	}
	t.links = nil
	// Drain: events submitted before the detach are still in the ring.
	deadline := time.Now().Add(200 * time.Millisecond)
	for t.rd.AvailableBytes() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	_ = t.rd.Close()
	<-t.done
	t.close()
	return t.Events()
}

func (t *Tracer) close() {
	for _, l := range t.links {
		_ = l.Close()
	}
	if t.rd != nil {
		_ = t.rd.Close()
	}
	_ = t.objs.Close()
}
