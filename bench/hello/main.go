// Command hello is the floor `make bench` compares tcptune against: the
// smallest Go program that starts, writes one line and exits (static, like
// tcptune's own build).
package main

import "os"

func main() { os.Stdout.WriteString("hello, world\n") }
