package doctor

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/vishvananda/netns"
)

// NetnsRunDir is where `ip netns add NAME` bind-mounts namespaces.
const NetnsRunDir = "/run/netns"

// NetnsPath turns the --netns argument into a path: a bare NAME is an
// `ip netns` name (/run/netns/NAME); anything with a slash is a path such as
// /proc/PID/ns/net.
func NetnsPath(arg string) (string, error) {
	if arg == "" {
		return "", fmt.Errorf("empty network namespace name")
	}
	if strings.Contains(arg, "/") {
		return arg, nil
	}
	if arg == "." || arg == ".." {
		return "", fmt.Errorf("invalid network namespace name %q", arg)
	}
	return NetnsRunDir + "/" + arg, nil
}

// InNetns runs fn on an OS thread that has entered the network namespace at
// path, and returns fn's error. Everything fn reads through the thread
// (/proc/thread-self/net, /proc/sys/net, netlink sockets it opens) belongs
// to that namespace. The thread goes back to its namespace afterwards; if it
// cannot, the goroutine exits still locked and the runtime discards the
// thread, so no other goroutine ever runs in the wrong namespace.
func InNetns(path string, fn func() error) error {
	target, err := netns.GetFromPath(path)
	if err != nil {
		if os.IsNotExist(err) {
			return fmt.Errorf("network namespace %s: no such file", path)
		}
		return fmt.Errorf("open network namespace %s: %w", path, err)
	}
	defer target.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- fmt.Errorf("read current network namespace: %w", err)
			return // thread stays locked and is discarded
		}
		defer orig.Close()
		if err := netns.Set(target); err != nil {
			errc <- fmt.Errorf("enter network namespace %s: %w", path, err)
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- fmt.Errorf("leave network namespace %s: %w (after: %v)", path, err, ferr)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}
