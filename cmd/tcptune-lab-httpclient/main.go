// Command tcptune-lab-httpclient is the Go client of the keepalive labs
// (tcptune lab run keepalive-race / upstream-keepalive): the seed's
// http.Client, with its http.Transport (DialContext timeout 1 s, TCP
// keepalive 300 s, a pool of idle connections kept IdleConnTimeout), sending
// requests spaced so that they race the server's keepalive close.
//
// It is a separate binary so that net/http is not linked into tcptune (its
// start-up is part of every diff and apply). The lab finds it next to the
// tcptune binary, in PATH, or at $TCPTUNE_LAB_HTTPCLIENT.
//
// Output: one JSON object {"attempts": [{"class", "ms", "detail"}]} on
// stdout; class is ok, reset, eof, refused, timeout, status (an HTTP error
// status, detail says which) or other.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"
)

// MaxIdleConns and MaxIdleConnsPerHost as in the seed's client.
const (
	MaxIdleConns        = 100
	MaxIdleConnsPerHost = 100
)

type attempt struct {
	Class  string  `json:"class"`
	Ms     float64 `json:"ms"`
	Detail string  `json:"detail,omitempty"`
}

func main() {
	url := flag.String("url", "http://127.0.0.1:8001/", "where to send the requests")
	workers := flag.Int("workers", 10, "concurrent clients, each with its own http.Client")
	rounds := flag.Int("rounds", 5, "requests per worker")
	gap := flag.Duration("gap", time.Second, "pause between a worker's requests (the idle time)")
	jitter := flag.Duration("jitter", 30*time.Millisecond, "random extra pause, 0..jitter")
	idle := flag.Duration("idle", 60*time.Second, "http.Transport.IdleConnTimeout")
	timeout := flag.Duration("timeout", time.Second, "http.Client.Timeout")
	method := flag.String("method", http.MethodPost, "request method (POST is not retried by the Transport, as in the seed)")
	flag.Parse()
	if *workers < 1 || *workers > 1000 || *rounds < 1 || *rounds > 1000 {
		fmt.Fprintln(os.Stderr, "tcptune-lab-httpclient: error: -workers and -rounds must be 1..1000")
		os.Exit(1)
	}
	// The seed's client, IdleConnTimeout scaled down. Each worker is its
	// own client (a service instance with its own pool): with one shared
	// pool, a request takes the connection released last, not the one
	// idle for the gap, and the race would depend on how workers interleave.
	newClient := func() *http.Client {
		return &http.Client{
			Transport: &http.Transport{
				DialContext: (&net.Dialer{
					Timeout:   1000 * time.Millisecond,
					KeepAlive: 300 * time.Second,
				}).DialContext,
				MaxIdleConns:        MaxIdleConns,
				MaxIdleConnsPerHost: MaxIdleConnsPerHost,
				IdleConnTimeout:     *idle,
			},
			Timeout: *timeout,
		}
	}
	out := make([][]attempt, *workers)
	var wg sync.WaitGroup
	for w := range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := newClient()
			// Stagger the workers so their requests do not arrive together.
			time.Sleep(time.Duration(w) * *gap / time.Duration(*workers) / 4)
			for r := range *rounds {
				if r > 0 {
					time.Sleep(*gap + time.Duration(rand.Int64N(int64(*jitter)+1)))
				}
				out[w] = append(out[w], do(client, *method, *url))
			}
		}()
	}
	wg.Wait()
	var all []attempt
	for _, as := range out {
		all = append(all, as...)
	}
	if err := json.NewEncoder(os.Stdout).Encode(map[string]any{"attempts": all}); err != nil {
		os.Exit(1)
	}
}

func do(c *http.Client, method, url string) attempt {
	start := time.Now()
	req, err := http.NewRequestWithContext(context.Background(), method, url, bytes.NewReader([]byte("tcptune lab\n")))
	if err != nil {
		return attempt{Class: "other", Detail: err.Error()}
	}
	resp, err := c.Do(req)
	ms := float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		return attempt{Class: class(err), Ms: ms, Detail: err.Error()}
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return attempt{Class: class(err), Ms: ms, Detail: err.Error()}
	}
	if resp.StatusCode != http.StatusOK {
		return attempt{Class: "status", Ms: ms, Detail: resp.Status}
	}
	return attempt{Class: "ok", Ms: ms}
}

func class(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "other"
}
