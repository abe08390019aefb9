// Command connhold holds TCP connections open for `make bench`, so the
// doctor and apply's restart list can be measured at 10k, 50k and 100k
// connections. It runs only inside the private network namespace
// scripts/bench.sh creates, on loopback.
//
//	connhold server ADDR N READYFILE   listen on ADDR, accept N connections
//	connhold client ADDR N READYFILE   open N connections to ADDR
//
// Once all N are established it creates READYFILE and holds them until
// SIGTERM, or for at most -hold (default 10m): bounded even if the script
// that started it dies. On SIGTERM it closes them 256 at a time with a pause
// between batches: 12.5k connections closed at once over loopback overflow
// the host's per-CPU input backlog (softnet_stat drops, which every
// namespace shares).
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"
)

func main() {
	hold := flag.Duration("hold", 10*time.Minute, "exit after this long")
	flag.Parse()
	if flag.NArg() != 4 {
		fmt.Fprintln(os.Stderr, "usage: connhold server|client ADDR N READYFILE")
		os.Exit(2)
	}
	mode, addr, ready := flag.Arg(0), flag.Arg(1), flag.Arg(3)
	n, err := strconv.Atoi(flag.Arg(2))
	if err != nil || n < 0 || n > 19000 { // the machine's open-file limit per process is 20k
		fail(fmt.Errorf("N must be 0..19000, got %q", flag.Arg(2)))
	}
	time.AfterFunc(*hold, func() { os.Exit(0) })
	var conns []net.Conn
	switch mode {
	case "server":
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fail(err)
		}
		for len(conns) < n {
			c, err := ln.Accept()
			if err != nil {
				fail(err)
			}
			conns = append(conns, c)
		}
	case "client":
		var mu sync.Mutex
		var wg sync.WaitGroup
		const workers = 2
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := w; i < n; i += workers {
					c, err := net.DialTimeout("tcp", addr, 10*time.Second)
					if err != nil {
						fail(err)
					}
					mu.Lock()
					conns = append(conns, c)
					mu.Unlock()
				}
			}(w)
		}
		wg.Wait()
	default:
		fail(fmt.Errorf("unknown mode %q", mode))
	}
	if err := os.WriteFile(ready, []byte(strconv.Itoa(len(conns))+"\n"), 0o644); err != nil {
		fail(err)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	for i, c := range conns {
		c.Close()
		if i%256 == 255 {
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "connhold: %v\n", err)
	os.Exit(1)
}
