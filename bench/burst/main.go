// Command burst makes a bounded burst of loopback connects for `make bench`
// (scripts/bench-trace.sh), so doctor's cost during a burst can be compared
// with its cost on an idle namespace. It runs only inside the private
// network namespace the script creates.
//
//	burst [-max-dur 90s] [-max-conns 3000000] ADDR WORKERS READYFILE
//
// It listens on ADDR (loopback), accepts and closes every connection, and
// runs WORKERS goroutines that each connect and close, one connection at a
// time. A client closes with SO_LINGER 0 (a reset), so no TIME_WAIT piles up
// and the ephemeral ports last; one connection in flight per worker keeps
// the host's shared per-CPU input backlog from overflowing. READYFILE is
// created once the first connections succeed. It stops on SIGTERM, after
// -max-dur or after -max-conns connects, whichever comes first, and prints
// "connects N seconds S rate R/s".
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	maxDur := flag.Duration("max-dur", 90*time.Second, "stop after this long")
	maxConns := flag.Int64("max-conns", 3_000_000, "stop after this many connects")
	flag.Parse()
	if flag.NArg() != 3 {
		fmt.Fprintln(os.Stderr, "usage: burst [-max-dur D] [-max-conns N] ADDR WORKERS READYFILE")
		os.Exit(2)
	}
	addr, ready := flag.Arg(0), flag.Arg(2)
	workers, err := strconv.Atoi(flag.Arg(1))
	if err != nil || workers < 1 || workers > 64 {
		fail(fmt.Errorf("WORKERS must be 1..64, got %q", flag.Arg(1)))
	}
	if h, _, err := net.SplitHostPort(addr); err != nil || !net.ParseIP(h).IsLoopback() {
		fail(fmt.Errorf("ADDR must be a loopback address, got %q", addr))
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fail(err)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, *maxDur)
	defer cancelT()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	var n atomic.Int64
	var readyOnce sync.Once
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := net.Dialer{Timeout: time.Second}
			for ctx.Err() == nil && n.Load() < *maxConns {
				c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
				if err != nil {
					if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
						return
					}
					time.Sleep(time.Millisecond) // bounded retry pace on a transient error
					continue
				}
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
				if n.Add(1) == int64(workers) {
					readyOnce.Do(func() {
						if err := os.WriteFile(ready, nil, 0o644); err != nil {
							fail(err)
						}
					})
				}
			}
		}()
	}
	wg.Wait()
	ln.Close()
	s := time.Since(start).Seconds()
	fmt.Printf("connects %d seconds %.1f rate %.0f/s\n", n.Load(), s, float64(n.Load())/s)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "burst:", err)
	os.Exit(1)
}
