// Package stackgrow grows the main goroutine's stack once, at the start of
// package initialisation, while the stack is shallow.
//
// A goroutine starts with a small stack that doubles when a call needs more;
// each doubling copies the stack and adjusts every frame on it, which costs
// in proportion to how deep it is. tcptune's start-up (yaml.v3's init, cobra,
// validation) grew the main goroutine's stack four times, deep each time:
// about 170k instructions, 7% of a diff (callgrind, when this was added). One call with
// a large frame here, before the packages that recurse deeply are
// initialised, makes a single cheap copy instead. Nothing shrinks the stack
// again before the garbage collector runs, which a short command rarely
// reaches.
//
// cmd/tcptune imports it for its side effect. The Go specification
// initialises packages in the lexical order of their import paths among those
// whose dependencies are ready; this package has none, so it runs before
// go.yaml.in/yaml/v3 and the packages of the standard library after "github.com".
package stackgrow

// frame is the call that sizes the main goroutine's stack: an 8 KiB frame
// on the 2 KiB starting stack makes it 16 KiB at once, which tcptune diff
// then never outgrows (callgrind: one copystack, at this call). Measured
// again when validate's port checks stopped keeping a 64 KiB bitmap on the
// stack (the frame had been 64 KiB for them): at 64 KiB the clearing alone
// cost 13 more page faults a run (perf stat, GOMAXPROCS=1, median of 31),
// and without this package the stack still doubled twice, deep.
const frame = 8 << 10

//go:noinline
func grow(i int) byte {
	var buf [frame]byte
	buf[i] = byte(i)
	return buf[(i*7)%len(buf)]
}

// sink keeps grow from being optimised away.
var sink byte

func init() { sink = grow(1) }
