package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tcptune/tcptune/doctor"
	"github.com/tcptune/tcptune/internal/nstest"
	"github.com/tcptune/tcptune/netns"
)

// TestDoctorKernelDeadBackend: a connect to a peer that never answers (a
// veth whose other end has no address: ARP for it is never answered) stays in SYN-SENT with retransmitted
// SYNs; doctor names the destination and the setting that decides.
func TestDoctorKernelDeadBackend(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	nstest.Guard(t)
	for _, args := range [][]string{{"link", "add", "i11d", "type", "veth", "peer", "name", "i11e"},
		{"addr", "add", "10.211.9.1/24", "dev", "i11d"}, {"link", "set", "i11d", "up"}, {"link", "set", "i11e", "up"}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	go func() { _, _ = net.DialTimeout("tcp4", "10.211.9.2:8080", 8*time.Second) }()
	time.Sleep(200 * time.Millisecond)
	r, code := runDoctorJSON(t, "--interval", "2500ms")
	f := findingByID(r, "dead-backend")
	if f == nil || code != ExitChanges {
		t.Fatalf("exit %d, no dead-backend finding: %+v", code, r.Findings)
	}
	found := false
	for _, e := range f.Evidence {
		found = found || e.Name == "connecting to 10.211.9.2:8080" && strings.Contains(e.Value, "SYN sent")
	}
	if !found || f.Fix.Profile != "fail-fast" || !strings.Contains(f.Explanation, "proxy_connect_timeout") {
		t.Errorf("finding %+v", f)
	}
}

// TestDoctorKernelDeadBackendAllNetns: doctor --all-netns looks for stuck
// connects in every namespace too. The namespace here is another process's
// (unshare -n sleep), with a listener (doctor --all-netns skips namespaces
// without one) and a non-blocking connect to an address on a veth that never
// answers ARP: its report must carry the dead-backend finding.
func TestDoctorKernelDeadBackendAllNetns(t *testing.T) {
	if !nstest.InPrivateNetns(t) {
		return
	}
	nstest.Guard(t)
	holder := exec.Command("unshare", "-n", "sleep", "30")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = holder.Process.Kill(); _ = holder.Wait() }()
	path := fmt.Sprintf("/proc/%d/ns/net", holder.Process.Pid)
	var ino uint64
	for deadline := time.Now().Add(3 * time.Second); ; {
		self, err1 := os.Readlink("/proc/self/ns/net")
		other, err2 := os.Readlink(path)
		if err1 == nil && err2 == nil && other != self {
			var st unix.Stat_t
			if err := unix.Stat(path, &st); err != nil {
				t.Fatal(err)
			}
			ino = st.Ino
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("unshare -n did not make a namespace: %s, %s (%v %v)", self, other, err1, err2)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var ln net.Listener
	fd := -1
	err := netns.Do(netns.Target{Path: path}, func() error {
		if err := netns.LoopbackUp(); err != nil {
			return err
		}
		for _, args := range [][]string{{"link", "add", "i15a", "type", "veth", "peer", "name", "i15b"},
			{"addr", "add", "10.215.9.1/24", "dev", "i15a"}, {"link", "set", "i15a", "up"}, {"link", "set", "i15b", "up"}} {
			if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
				return fmt.Errorf("ip %v: %v: %s", args, err, out)
			}
		}
		var err error
		if ln, err = net.Listen("tcp4", "127.0.0.1:0"); err != nil {
			return err
		}
		// A raw non-blocking connect: the socket is made on this thread, in
		// this namespace, and stays in SYN-SENT after Do returns.
		if fd, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0); err != nil {
			return err
		}
		if err := unix.Connect(fd, &unix.SockaddrInet4{Port: 8080, Addr: [4]byte{10, 215, 9, 2}}); err != unix.EINPROGRESS {
			return fmt.Errorf("connect: %v, want EINPROGRESS", err)
		}
		return nil
	})
	if ln != nil {
		defer ln.Close()
	}
	if fd >= 0 {
		defer unix.Close(fd)
	}
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // past the first SYN retransmission: a connect in its first second is not judged
	var out, errb bytes.Buffer
	code := Run([]string{"doctor", "--all-netns", "--once", "-o", "json"}, strings.NewReader(""), &out, &errb)
	var all doctor.AllReport
	if err := json.Unmarshal(out.Bytes(), &all); err != nil {
		t.Fatalf("doctor --all-netns: exit %d, not JSON: %v\n%s%s", code, err, out.String(), errb.String())
	}
	for _, n := range all.Namespaces {
		if n.Inode != ino {
			continue
		}
		if n.Report == nil || findingByID(*n.Report, "dead-backend") == nil {
			t.Fatalf("namespace %d: no dead-backend finding for the connect to 10.215.9.2:8080: %+v", ino, n.Report)
		}
		if code != ExitChanges {
			t.Errorf("exit %d, want %d (findings)", code, ExitChanges)
		}
		return
	}
	t.Fatalf("doctor --all-netns did not report namespace %d:\n%s", ino, out.String())
}
