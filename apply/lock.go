package apply

import (
	"context"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// lock is an flock(2) on StateDir/lock. flock belongs to the open file, so
// it is released when the process dies: a crash never leaves a stale lock,
// and two goroutines with separate opens exclude each other like two
// processes do.
type lock struct{ f *os.File }

// lockPoll is how often a waiting apply retries.
const lockPoll = 20 * time.Millisecond

// acquire takes the lock, waiting up to wait; a cancelled ctx (a signal)
// ends the wait at once.
func acquire(ctx context.Context, s store, wait time.Duration, shared bool) (*lock, error) {
	if err := s.ensure(); err != nil {
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	f, err := os.OpenFile(s.lockPath(), os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("lock %s is not a regular file; move it away", s.lockPath())
	}
	how := unix.LOCK_EX
	if shared {
		how = unix.LOCK_SH
	}
	deadline := time.Now().Add(wait)
	for {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if err == nil {
			return &lock{f: f}, nil
		}
		if err != unix.EWOULDBLOCK && err != unix.EINTR {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", s.lockPath(), err)
		}
		if !time.Now().Before(deadline) {
			f.Close()
			return nil, fmt.Errorf("%w (lock %s held)", ErrLocked, s.lockPath())
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("%w (lock %s held); stopped waiting: %w", ErrLocked, s.lockPath(), context.Cause(ctx))
		case <-time.After(lockPoll):
		}
	}
}

func (l *lock) release() {
	if l != nil && l.f != nil {
		_ = unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
		l.f.Close()
	}
}
