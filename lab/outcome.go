package lab

import (
	"context"
	"errors"
	"io"
	"os"
	"sort"
	"syscall"
	"time"
)

// class is how one client attempt ended.
type class int

const (
	classOK class = iota
	classReset
	classEOF
	classRefused
	classTimeout
	classAddrNotAvail
	classPending
	classOther
)

// classify maps a client error to its class. A deadline that expired while
// the kernel was still retrying is Pending when pendingOnDeadline is set
// (slow-failure bounds its wait; the client has not failed yet), Timeout
// otherwise.
func classify(err error, pendingOnDeadline bool) class {
	switch {
	case err == nil:
		return classOK
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		// EPIPE: the write after the RST; the peer reset the connection.
		return classReset
	case errors.Is(err, syscall.ECONNREFUSED):
		return classRefused
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return classAddrNotAvail
	case errors.Is(err, syscall.ETIMEDOUT):
		return classTimeout
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		if pendingOnDeadline {
			return classPending
		}
		return classTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return classOther
	}
	return classOther
}

// attempt is one client's result.
type attempt struct {
	class   class
	elapsed time.Duration
	err     error
}

// tally turns attempts into outcome counts and latency samples.
func tally(as []attempt, p *Phase) {
	for _, a := range as {
		p.Attempts++
		ms := float64(a.elapsed.Microseconds()) / 1000
		switch a.class {
		case classOK:
			p.OK++
			p.okSamples = append(p.okSamples, ms)
			continue
		case classReset:
			p.Reset++
		case classEOF:
			p.EOF++
		case classRefused:
			p.Refused++
		case classTimeout:
			p.Timeout++
		case classAddrNotAvail:
			p.AddrNotAvail++
		case classPending:
			p.Pending++
			continue // not a failure: no time-to-error
		default:
			p.Other++
		}
		p.failSamples = append(p.failSamples, ms)
	}
}

// summarize fills the percentile fields from the samples; no samples leaves
// them absent.
func (p *Phase) summarize() {
	p.LatencyP50Ms = percentile(p.okSamples, 50)
	p.LatencyP99Ms = percentile(p.okSamples, 99)
	p.FailP50Ms = percentile(p.failSamples, 50)
	p.FailMaxMs = percentile(p.failSamples, 100)
}

// percentile uses the nearest-rank method on a sorted copy.
func percentile(xs []float64, q float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	rank := int(q/100*float64(len(s))+0.999999) - 1
	rank = max(0, min(rank, len(s)-1))
	v := float64(int64(s[rank]*100)) / 100
	return &v
}
