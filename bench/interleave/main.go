// Command interleave times whole commands run in turn, A B C A B C ..., and
// prints each one's median wall time and its ratio to the first. `make
// bench` uses it next to hyperfine, which runs all of A's runs, then B's: on
// a shared machine a load that comes and goes then lands on one command more
// than another, while here every command sees the same moments.
//
// Usage: interleave RUNS 'CMD ARGS...' 'CMD ARGS...' ...
// Output: one line per command: median milliseconds, ratio to the first.
// Each command runs RUNS times after 10 warm-up rounds, stdout and stderr to
// /dev/null; its exit status is ignored (tcptune diff exits 2 on drift).
package main

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: interleave RUNS 'CMD ARGS...' ...")
		os.Exit(2)
	}
	runs, err := strconv.Atoi(os.Args[1])
	if err != nil || runs < 1 || runs > 100000 {
		fmt.Fprintf(os.Stderr, "interleave: RUNS %q: want 1..100000\n", os.Args[1])
		os.Exit(2)
	}
	cmds := os.Args[2:]
	times := make([][]float64, len(cmds))
	for round := 0; round < runs+10; round++ {
		for i, c := range cmds {
			f := strings.Fields(c)
			cmd := exec.Command(f[0], f[1:]...) // Stdout/Stderr nil: /dev/null
			start := time.Now()
			if err := cmd.Run(); err != nil {
				if _, exited := err.(*exec.ExitError); !exited {
					fmt.Fprintf(os.Stderr, "interleave: %s: %v\n", c, err)
					os.Exit(1)
				}
			}
			if round >= 10 {
				times[i] = append(times[i], time.Since(start).Seconds()*1e3)
			}
		}
	}
	median := func(v []float64) float64 { s := slices.Clone(v); slices.Sort(s); return s[len(s)/2] }
	first := median(times[0])
	for i := range cmds {
		m := median(times[i])
		fmt.Printf("%.3f %.2f\n", m, m/first)
	}
}
