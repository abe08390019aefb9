package apply

import (
	"context"
	"time"

	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
	"github.com/tcptune/tcptune/validate"
)

// Defaults for Options; the CLI exposes each as a flag with this value.
const (
	DefaultStateDir    = "/var/lib/tcptune"
	DefaultPersistDir  = "/etc/sysctl.d"
	DefaultPersistName = "90-tcptune.conf"
	DefaultSysctlConf  = "/etc/sysctl.conf"
)

// DefaultSearchDirs are the sysctl.d directories in systemd-sysctl's order
// (sysctl.d(5)): a file in an earlier directory masks one of the same name
// in a later one.
var DefaultSearchDirs = []string{"/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d"}

// KernelIO is how a transaction reads and writes sysctls. *sysctl.FS
// implements it; tests wrap one to make write k fail or to rewrite a value
// the way a clamping kernel would.
type KernelIO interface {
	Read(k sysctl.Key) (sysctl.Value, error)
	Write(k sysctl.Key, v sysctl.Value) error
}

// writableChecker is implemented by *sysctl.FS; a KernelIO without it is
// assumed writable and finds out at write time (and rolls back).
type writableChecker interface {
	Writable(k sysctl.Key) error
}

// Listener is one listening socket, for the restart list.
type Listener struct {
	// Addr is "address:port" as the kernel reports it.
	Addr string `json:"addr"`
	// Backlog is the accept-queue limit fixed at listen() time:
	// min(listen backlog, somaxconn then).
	Backlog uint32 `json:"backlog"`
	// PID and Process own the socket; 0 and "" when unknown.
	PID     int    `json:"pid,omitempty"`
	Process string `json:"process,omitempty"`
	// Inode is the socket's inode, for the source's own owner lookup; Port
	// its local port, for the application's own configuration.
	Inode uint32 `json:"-"`
	Port  uint16 `json:"-"`
	// AppBacklog is the backlog the application asks listen() for, when
	// known (nginx's listen ... backlog=N from nginx -T); AppBacklogFrom
	// says where it comes from.
	AppBacklog     *uint32 `json:"app_backlog,omitempty"`
	AppBacklogFrom string  `json:"app_backlog_from,omitempty"`
}

// OwnerNamer is implemented by a ListenerSource whose Listeners leaves PID
// and Process empty because finding them is costly (a walk of the fd
// tables): the restart list asks it to name only the listeners on the list.
type OwnerNamer interface {
	NameOwners(ctx context.Context, ls []Listener)
}

// ListenerSource lists the listening TCP sockets of the current network
// namespace. The CLI injects doctor's inet_diag reader; apply does not
// import doctor.
type ListenerSource interface {
	Listeners(ctx context.Context) ([]Listener, error)
}

// Options configures Apply, Rollback, Resolve and LoadStatus. The zero value
// means the real system with defaults.
type Options struct {
	// FS is the sysctl tree: validation and writability checks use it, and
	// it is the KernelIO unless IO is set. nil means sysctl.NewFS("").
	FS *sysctl.FS
	// IO, when set, replaces FS for the reads and writes of a transaction
	// (fault injection in tests).
	IO KernelIO
	// Netns is the kind of network namespace; NetnsChild turns host-wide
	// keys into ActionHostWide.
	Netns netns.Kind

	// StateDir holds the lock and the transaction records.
	StateDir string
	// History is how many of the latest transactions LoadStatus lists;
	// 0 means 10 (what its summary holds), more are decoded from their
	// records.
	History int
	// PersistDir is the directory of the owned file; PersistName its name.
	PersistDir  string
	PersistName string
	// SearchDirs are the sysctl.d directories in systemd order, and
	// SysctlConf the file procps applies last; for the precedence report.
	// nil SearchDirs means DefaultSearchDirs, with PersistDir in place of
	// /etc/sysctl.d when PersistDir was moved.
	SearchDirs []string
	SysctlConf string

	// NoPersist skips the persisted file; StrictPersist makes an override of
	// the persisted file by another sysctl.d file an error.
	NoPersist     bool
	StrictPersist bool
	// NoPersistReason, with NoPersist, is why the caller turned persistence
	// off by default (netns.Here.PersistDefault); Apply reports it.
	NoPersistReason string
	// DryRun plans and reports; nothing is locked or written.
	DryRun bool

	// LockWait is how long to wait for another apply/rollback; 0 fails at
	// once with ErrLocked.
	LockWait time.Duration
	// Version of tcptune, written in the persisted file's header and the
	// transaction record.
	Version string
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// Validator replaces validate.Validate (tests that need the kernel's own
	// refusal, which validation would otherwise catch first). nil means
	// validate.Validate with a validate.Kernel on FS.
	Validator func(*profiles.Resolved) []validate.Diagnostic
	// Listeners, when set, produces the restart list after an apply that
	// raised net.core.somaxconn.
	Listeners ListenerSource
	// Auditor, when set, receives an entry for every key a committed apply
	// or a rollback changed (audit.go).
	Auditor Auditor
	// Writers, when set, is the last-writer table the caller's plan was
	// made with: the transaction is refused (ErrStalePlan) if another
	// apply or a rollback wrote since.
	Writers *Writers
	// Origin is recorded in each transaction ("reconcile" for the loop's
	// corrections; "" for apply). With RecoverOwnCrash, an apply that finds
	// crashed transactions all of its own Origin (the same service killed
	// mid-correction) rolls them back and goes on instead of refusing.
	Origin          string
	RecoverOwnCrash bool
	// AfterWrite, when set, is called after write i (1-based) was read back
	// and verified; tests use it to pause or kill mid-transaction.
	AfterWrite func(i int, k sysctl.Key)
}
