package systemd

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	envMntChild  = "TCPTUNE_MNTNS_CHILD"
	envParentMnt = "TCPTUNE_MNTNS_PARENT"
)

// TestJournalRealSocket sends audit records through go-systemd's journal
// package to a real unixgram socket at /run/systemd/journal/socket - the
// test's own, in a private mount namespace where /run/systemd is a fresh
// tmpfs - and parses the datagrams in journald's native format. Before the
// socket exists it checks that a host without journald loses nothing: the
// records still reach the audit file and Record reports no error.
func TestJournalRealSocket(t *testing.T) {
	if os.Getenv(envMntChild) == t.Name() {
		journalChild(t)
		return
	}
	if os.Getenv(envMntChild) != "" {
		t.Skip("child process of another test")
	}
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: needs root for a private mount namespace")
	}
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), envMntChild+"="+t.Name(), envParentMnt+"="+self)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("child in a private mount namespace failed: %v\n%s", err, out)
	}
	if _, err := os.Stat("/run/systemd/journal/tcptune-test-marker"); err == nil {
		t.Fatal("the child's mount leaked into the host's mount namespace")
	}
}

func journalChild(t *testing.T) {
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	if parent := os.Getenv(envParentMnt); parent == "" || parent == self {
		t.Fatalf("REFUSING TO RUN: mount namespace %s is not private (parent %q)", self, parent)
	}
	// Stop mount events from propagating back to the host, then hide the
	// host's /run/systemd behind an empty tmpfs.
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		t.Fatalf("make / private: %v", err)
	}
	base := "/run/systemd"
	if _, err := os.Stat(base); err != nil {
		base = "/run"
	}
	if err := syscall.Mount("tcptune-test", base, "tmpfs", 0, "mode=0755"); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", base, err)
	}
	dir := "/run/systemd/journal"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tcptune-test-marker"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	recs := []Record{
		{Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Action: ActionApply, Transaction: "000001-20250102T030405Z",
			Profile: "high-concurrency", Key: "net.core.somaxconn", Before: "4096", After: "65535", Actor: "alice"},
		{Action: ActionReconcile, Key: "net.ipv4.tcp_rmem", Before: "4096 131072 6291456", After: "4096 131072 16777216"},
	}

	// No journald: nothing breaks, the file has the records.
	auditFile := filepath.Join(t.TempDir(), AuditFileName)
	a := NewAuditor(auditFile)
	if a.Journal.Available() {
		t.Fatal("journal reported available with no socket")
	}
	if err := a.Record(recs[:1]...); err != nil {
		t.Fatalf("Record without journald: %v", err)
	}
	got, _, err := ReadAudit(auditFile, AuditFilter{})
	if err != nil || len(got) != 1 || got[0].Key != "net.core.somaxconn" {
		t.Fatalf("audit file without journald: %v %+v", err, got)
	}

	// Now a receiving socket where journald's would be.
	sock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(dir, "socket"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	if !a.Journal.Available() {
		t.Fatal("journal not available with a listening socket")
	}
	if err := a.Record(recs...); err != nil {
		t.Fatalf("Record: %v", err)
	}
	byKey := map[string]map[string]string{}
	buf := make([]byte, 1<<16)
	for range recs {
		sock.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := sock.Read(buf)
		if err != nil {
			t.Fatalf("read datagram: %v", err)
		}
		f, err := parseNative(buf[:n])
		if err != nil {
			t.Fatalf("datagram is not in journald's native format: %v\n%q", err, buf[:n])
		}
		byKey[f["TCPTUNE_KEY"]] = f
	}
	want := map[string]map[string]string{
		"net.core.somaxconn": {
			"PRIORITY": "5", "MESSAGE": `tcptune apply: net.core.somaxconn "4096" -> "65535" (profile high-concurrency)`,
			"SYSLOG_IDENTIFIER": "tcptune", "MESSAGE_ID": MessageID,
			"TCPTUNE_ACTION": "apply", "TCPTUNE_KEY": "net.core.somaxconn", "TCPTUNE_BEFORE": "4096", "TCPTUNE_AFTER": "65535",
			"TCPTUNE_PROFILE": "high-concurrency", "TCPTUNE_TRANSACTION": "000001-20250102T030405Z",
			"TCPTUNE_ACTOR": "alice", "TCPTUNE_TIME": "2025-01-02T03:04:05Z",
		},
		"net.ipv4.tcp_rmem": {
			"PRIORITY": "5", "MESSAGE": `tcptune reconcile: net.ipv4.tcp_rmem "4096 131072 6291456" -> "4096 131072 16777216"`,
			"SYSLOG_IDENTIFIER": "tcptune", "MESSAGE_ID": MessageID,
			"TCPTUNE_ACTION": "reconcile", "TCPTUNE_KEY": "net.ipv4.tcp_rmem",
			"TCPTUNE_BEFORE": "4096 131072 6291456", "TCPTUNE_AFTER": "4096 131072 16777216",
		},
	}
	if d := cmp.Diff(want, byKey); d != "" {
		t.Errorf("journal entries (-want +got):\n%s", d)
	}
	got, _, err = ReadAudit(auditFile, AuditFilter{})
	if err != nil || len(got) != 3 {
		t.Fatalf("audit file after journald appeared: %v, %d records, want 3", err, len(got))
	}
}

// parseNative decodes one entry of journald's native protocol
// (https://systemd.io/JOURNAL_NATIVE_PROTOCOL/): "NAME=value\n", or
// "NAME\n" + 64-bit little-endian length + value + "\n" for values holding
// a newline.
func parseNative(b []byte) (map[string]string, error) {
	f := map[string]string{}
	for len(b) > 0 {
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 {
			return nil, fmt.Errorf("field without newline: %q", b)
		}
		line := b[:nl]
		if eq := bytes.IndexByte(line, '='); eq >= 0 {
			f[string(line[:eq])] = string(line[eq+1:])
			b = b[nl+1:]
			continue
		}
		b = b[nl+1:]
		if len(b) < 8 {
			return nil, fmt.Errorf("binary field %q without length", line)
		}
		n := binary.LittleEndian.Uint64(b[:8])
		if uint64(len(b)-8) < n+1 || b[8+n] != '\n' {
			return nil, fmt.Errorf("binary field %q: bad length %d", line, n)
		}
		f[string(line)] = string(b[8 : 8+n])
		b = b[9+n:]
	}
	return f, nil
}

func TestParseNativeBinaryField(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("A=1\nMESSAGE\n")
	binary.Write(&b, binary.LittleEndian, uint64(3))
	b.WriteString("x\ny\n")
	f, err := parseNative(b.Bytes())
	if err != nil || f["A"] != "1" || f["MESSAGE"] != "x\ny" {
		t.Fatalf("parseNative = %v, %v", f, err)
	}
	if _, err := parseNative([]byte("A=1")); err == nil {
		t.Fatal("parseNative accepted a truncated entry")
	}
}
