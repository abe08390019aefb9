package boottest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Suite and Packages make the image. The stamp records them, so changing
// either rebuilds the image.
const (
	Suite = "bookworm"
	// systemd as PID 1, dbus for `tcptune systemd install`'s D-Bus path,
	// procps for `sysctl --system`, iproute2 for ss.
	Packages = "systemd,systemd-sysv,dbus,procps,iproute2"
)

// MaxImageAge is how long a cached image is used before it is rebuilt.
const MaxImageAge = 7 * 24 * time.Hour

// DefaultCacheDir holds the image, outside the repository.
const DefaultCacheDir = "/var/cache/tcptune-boottest"

// Image is a debootstrapped root, shared read-only by every container (it is
// an overlay's lower directory, never written).
type Image struct {
	Root string
	lock *os.File
}

// Release drops the shared lock that keeps the image from being rebuilt
// under a running container.
func (im *Image) Release() {
	if im.lock != nil {
		im.lock.Close()
		im.lock = nil
	}
}

// recipe is what the stamp records.
func recipe(mirror string) string {
	return fmt.Sprintf("debootstrap --variant=minbase --include=%s %s ROOT %s\n", Packages, Suite, mirror)
}

// EnsureImage returns the cached image, building it when it is missing, older
// than MaxImageAge or made from another recipe. The returned image holds a
// shared lock (flock) on cacheDir/lock until Release; a rebuild takes it
// exclusively, so a build never replaces a root a container is using.
func EnsureImage(ctx context.Context, cacheDir, mirror string, logf func(string, ...any)) (*Image, error) {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(filepath.Join(cacheDir, "lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := flockWait(ctx, lock, syscall.LOCK_EX); err != nil {
		lock.Close()
		return nil, fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	root := filepath.Join(cacheDir, Suite)
	stamp := root + ".stamp"
	want := recipe(mirror)
	if why := stale(root, stamp, want); why != "" {
		logf("boottest: building the %s image in %s (%s); about a minute", Suite, root, why)
		if err := build(ctx, root, stamp, want, mirror); err != nil {
			lock.Close()
			return nil, err
		}
	}
	// Downgrade: other test runs may share the image now.
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_SH); err != nil {
		lock.Close()
		return nil, err
	}
	return &Image{Root: root, lock: lock}, nil
}

// stale says why the image must be rebuilt, or "" when it is usable.
func stale(root, stamp, want string) string {
	st, err := os.Stat(stamp)
	if err != nil {
		return "no image yet"
	}
	if age := time.Since(st.ModTime()); age > MaxImageAge {
		return fmt.Sprintf("image is %s old", age.Round(time.Hour))
	}
	if b, err := os.ReadFile(stamp); err != nil || string(b) != want {
		return "made from another recipe"
	}
	if _, err := os.Stat(filepath.Join(root, "usr/lib/systemd/systemd")); err != nil {
		return "image incomplete"
	}
	return ""
}

func build(ctx context.Context, root, stamp, want, mirror string) error {
	tmp := root + ".new"
	_ = os.Remove(stamp)
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "debootstrap", "--variant=minbase", "--include="+Packages, Suite, tmp, mirror)
	out, err := cmd.CombinedOutput()
	if err != nil {
		_ = os.RemoveAll(tmp)
		return fmt.Errorf("debootstrap %s: %w\n%s", Suite, err, tail(string(out), 2000))
	}
	if err := os.RemoveAll(root); err != nil {
		return err
	}
	if err := os.Rename(tmp, root); err != nil {
		return err
	}
	return os.WriteFile(stamp, []byte(want), 0o644)
}

// flockWait takes a lock, polling so a context can bound the wait.
func flockWait(ctx context.Context, f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Mirror is the Debian mirror this machine's apt uses (deb822 .sources or
// sources.list), or deb.debian.org.
func Mirror() string {
	var files []string
	if m, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources"); m != nil {
		files = append(files, m...)
	}
	files = append(files, "/etc/apt/sources.list")
	for _, f := range files {
		if u := mirrorIn(f); u != "" {
			return u
		}
	}
	return "http://deb.debian.org/debian"
}

func mirrorIn(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		var uris []string
		switch {
		case len(fields) >= 2 && fields[0] == "URIs:":
			uris = fields[1:]
		case len(fields) >= 3 && fields[0] == "deb":
			uris = fields[1:2]
			if strings.HasPrefix(uris[0], "[") { // deb [options] URI
				uris = nil
				for _, x := range fields[1:] {
					if strings.HasPrefix(x, "http") {
						uris = []string{x}
						break
					}
				}
			}
		}
		for _, u := range uris {
			if strings.HasPrefix(u, "http") && strings.HasSuffix(strings.TrimSuffix(u, "/"), "/debian") {
				return strings.TrimSuffix(u, "/")
			}
		}
	}
	return ""
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
