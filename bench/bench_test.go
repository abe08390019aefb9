// Package bench holds tcptune's speed measurements: Go benchmarks of
// resolve+plan (what `tcptune diff` does) and of the transactional apply on
// a fake sysctl root, run by `make bench` next to scripts/bench.sh's
// whole-process comparison against procps. Claims about speed live here,
// not in tests.
package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcptune/tcptune/apply"
	"github.com/tcptune/tcptune/internal/fakeroot"
	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
	"github.com/tcptune/tcptune/validate"
)

// fakeRoot builds a sysctl tree holding every key of r with the host
// baseline values a fresh machine has, and returns it with a reset func that
// puts those values back.
func fakeRoot(b *testing.B, r *profiles.Resolved) (*sysctl.FS, func()) {
	b.Helper()
	root := b.TempDir()
	baseline := fakeroot.Stock()
	reset := func() {
		vals := map[string]string{}
		for _, s := range r.Settings {
			v, ok := baseline[s.Key.String()]
			if !ok {
				b.Fatalf("no baseline for %s", s.Key)
			}
			vals[s.Key.String()] = v
		}
		if err := fakeroot.Write(root, vals); err != nil {
			b.Fatal(err)
		}
	}
	reset()
	return sysctl.NewFS(root), reset
}

func resolved(b *testing.B) *profiles.Resolved {
	b.Helper()
	r, err := (&profiles.Loader{}).Resolve("high-concurrency")
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkResolve: load the built-ins and compose high-concurrency.
func BenchmarkResolve(b *testing.B) {
	for b.Loop() {
		if _, err := (&profiles.Loader{}).Resolve("high-concurrency"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlan: diff high-concurrency against a fake root (reads only).
func BenchmarkPlan(b *testing.B) {
	r := resolved(b)
	fs, _ := fakeRoot(b, r)
	for b.Loop() {
		p, err := apply.NewPlan(r, fs, netns.Initial)
		if err != nil {
			b.Fatal(err)
		}
		if p.InSync() {
			b.Fatal("fake root already in sync: the plan did no work")
		}
	}
}

// BenchmarkDiff: what `tcptune diff high-concurrency` does after startup:
// resolve, then plan.
func BenchmarkDiff(b *testing.B) {
	r := resolved(b)
	fs, _ := fakeRoot(b, r)
	for b.Loop() {
		r, err := (&profiles.Loader{}).Resolve("high-concurrency")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := apply.NewPlan(r, fs, netns.Initial); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApply: the whole transaction on a fake root: validation, lock,
// fsynced journal, writes with read-back, no persisted file. The fake root
// is reset between iterations (untimed) so every apply writes.
func BenchmarkApply(b *testing.B) {
	r := resolved(b)
	fs, reset := fakeRoot(b, r)
	state := b.TempDir()
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		reset()
		b.StartTimer()
		res, err := apply.Apply(ctx, r, apply.Options{FS: fs, Netns: netns.Initial, StateDir: state, NoPersist: true,
			PersistDir: filepath.Join(state, "sysctl.d"), SearchDirs: []string{filepath.Join(state, "sysctl.d")},
			SysctlConf: filepath.Join(state, "sysctl.conf"), Version: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if !res.Changed {
			b.Fatal("apply changed nothing")
		}
	}
}

// BenchmarkValidateLarge validates a profile of 30,000 net.* keys outside
// the catalog: did-you-mean is bounded, so the cost stays linear (issue 16,
// item 12: it used to be about 1.5 ms per key).
func BenchmarkValidateLarge(b *testing.B) {
	var y strings.Builder
	y.WriteString("name: large\nsettings:\n")
	for i := 0; i < 30000; i++ {
		fmt.Fprintf(&y, "  net.ipv4.tcp_unknown_%d: 1\n", i)
	}
	p, err := profiles.Decode("large.yaml", []byte(y.String()), profiles.OriginFile, "")
	if err != nil {
		b.Fatal(err)
	}
	l := &profiles.Loader{}
	r, err := l.ResolveProfiles(p)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if ds := validate.Validate(r, nil); len(ds) != 30000 {
			b.Fatalf("%d diagnostics", len(ds))
		}
	}
}
