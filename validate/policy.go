package validate

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tcptune/tcptune/sysctl"
)

// ErrKeyNotAllowed marks a key outside what tcptune writes by default.
var ErrKeyNotAllowed = errors.New("key outside what tcptune may write")

// allowedNonNet are the keys outside net.* that tcptune writes by default:
// the file limits the seed's world needs next to the network stack.
var allowedNonNet = map[string]bool{
	"fs/file-max": true,
	"fs/nr_open":  true,
}

// KeyAllowed reports whether tcptune may write k by default: the network
// stack (net.*) and the few documented non-net keys (fs.file-max,
// fs.nr_open). It is the one write policy: profiles are judged by it before
// any write, and transaction records are judged by it when read back for a
// rollback. The error wraps ErrKeyNotAllowed.
func KeyAllowed(k sysctl.Key) error {
	p := k.Path()
	if strings.HasPrefix(p, "net/") || allowedNonNet[p] {
		return nil
	}
	return fmt.Errorf("%w: %s (tcptune writes net.* and fs.file-max, fs.nr_open)", ErrKeyNotAllowed, k)
}
