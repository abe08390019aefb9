// Package fakeroot writes fake sysctl trees for tests: a directory laid out
// like /proc/sys, one file per key holding the value and the newline the
// kernel prints. Unit tests point sysctl.NewFS (or --sysctl-root) at it, so
// they never need a live kernel.
package fakeroot

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tcptune/tcptune/sysctl"
)

// Write writes kv (dotted or slash key -> value) under root, creating the
// directories it needs and replacing files already there.
func Write(root string, kv map[string]string) error {
	for name, v := range kv {
		k, err := sysctl.ParseKey(name)
		if err != nil {
			return fmt.Errorf("fake sysctl root: %w", err)
		}
		p := filepath.Join(root, k.Path())
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(v+"\n"), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// New writes kv into a fresh temporary directory and returns its path.
func New(t testing.TB, kv map[string]string) string {
	t.Helper()
	root := t.TempDir()
	if err := Write(root, kv); err != nil {
		t.Fatal(err)
	}
	return root
}

// Stock returns a stock kernel's values in the initial network namespace,
// as the kernel prints them (tabs in vectors), for the keys the built-in
// profiles use. Each call returns a fresh map.
func Stock() map[string]string {
	return map[string]string{
		"net.core.somaxconn":                  "4096",
		"net.core.netdev_max_backlog":         "1000",
		"net.core.rmem_max":                   "212992",
		"net.core.wmem_max":                   "212992",
		"net.ipv4.tcp_max_syn_backlog":        "2048",
		"net.ipv4.ip_local_port_range":        "32768\t60999",
		"net.ipv4.ip_unprivileged_port_start": "1024",
		"net.ipv4.ip_local_reserved_ports":    "",
		"net.ipv4.tcp_tw_reuse":               "2",
		"net.ipv4.tcp_abort_on_overflow":      "0",
		"net.ipv4.tcp_rmem":                   "4096\t131072\t6291456",
		"net.ipv4.tcp_wmem":                   "4096\t16384\t4194304",
		"net.ipv4.tcp_syncookies":             "1",
		"net.ipv4.tcp_syn_retries":            "6",
		"net.ipv4.tcp_synack_retries":         "5",
		"net.ipv4.tcp_fin_timeout":            "60",
		"net.ipv4.tcp_keepalive_time":         "7200",
		"net.ipv4.tcp_keepalive_intvl":        "75",
		"net.ipv4.tcp_keepalive_probes":       "9",
	}
}
