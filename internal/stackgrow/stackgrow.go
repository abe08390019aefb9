package stackgrow

//go:noinline
func grow(n int) byte {
	var buf [128 << 10]byte
	buf[n] = byte(n)
	return buf[(n*7)%len(buf)]
}

var Sink byte

func init() { Sink = grow(1) }
