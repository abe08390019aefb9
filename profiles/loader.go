package profiles

//go:generate go run -tags tcptune_nogen ./internal/genbuiltins

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tcptune/tcptune/internal/safefile"
)

// Builtin names, in the order `list` shows them.
const (
	HighConcurrency = "high-concurrency"
	FailFast        = "fail-fast"
	SynFlood        = "syn-flood"
)

// ErrNotFound is returned for a profile name nobody defines.
var ErrNotFound = errors.New("profile not found")

// Loader finds profiles. The zero Loader knows only the built-ins.
type Loader struct {
	// Dirs are searched for *.yaml / *.yml in order; a later directory's
	// profile shadows an earlier one's of the same name, and every user
	// profile shadows a built-in of the same name.
	Dirs []string
	// Files are extra profile files (-f); they shadow everything.
	Files []string
	// StrictPerms refuses profile files and directories that are not owned
	// by root or are writable by group or others (sshd's StrictModes). The
	// CLI sets it when running as root (StrictPermsDefault).
	StrictPerms bool

	all map[string]*Profile // cache, filled by load
}

// Builtins returns the built-in profiles (builtin/*.yaml), sorted by name,
// each call a fresh copy the caller may change.
//
// They are not decoded at run time: builtin_gen.go holds them as Go values,
// generated from the YAML at build time (`go generate ./profiles`, which runs
// internal/genbuiltins). Decoding the three files cost about 2.5 M
// instructions on every diff and apply, more than the rest of the command.
// TestBuiltinsGeneratedEqualDecoded checks the generated form equals Decode
// of the YAML, and genbuiltins' TestGeneratedFileFresh fails when the file is
// stale.
func Builtins() ([]*Profile, error) { return builtinProfiles() }

// ReadFile decodes one profile file from disk. The name defaults to the
// file's base name without extension. It never blocks on a FIFO or a
// device: the file is opened non-blocking and refused unless it is a
// regular file of at most MaxFileSize bytes. With strict, a file others
// could change is refused (*PermError).
func ReadFile(path string, origin Origin) (*Profile, error) { return readFile(path, origin, false) }

func readFile(path string, origin Origin, strict bool) (*Profile, error) {
	data, st, err := readRegular(path, "profile")
	if err != nil {
		return nil, err
	}
	perm := trustProblem(path, st)
	if strict && perm != nil {
		return nil, perm
	}
	base := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(path), ".yaml"), ".yml")
	def := ""
	if ValidName(base) {
		def = base
	}
	p, err := Decode(path, data, origin, def)
	if err != nil {
		return nil, err
	}
	if perm != nil {
		p.Untrusted = perm.Why + " (" + perm.Path + ")"
	}
	return p, nil
}

// ReadRegular reads a regular file of at most MaxFileSize bytes without
// ever blocking: a FIFO, socket or device is refused before a byte is read
// (O_NONBLOCK, then fstat on the open descriptor). what names the file in
// errors ("profile", "sysctl.conf").
//
// It reads from the descriptor (safefile.ReadFile: open, fstat, read, close),
// without the file information readRegular returns: every diff and apply
// reads tuned's active_profile this way.
func ReadRegular(path, what string) ([]byte, error) {
	b, err := safefile.ReadFile(path, MaxFileSize, safefile.FollowLinks) // O_NONBLOCK, then fstat: never blocks on a FIFO
	switch {
	case errors.Is(err, safefile.ErrNotRegular):
		return nil, notRegular(path, what)
	case errors.Is(err, safefile.ErrTooLarge):
		return nil, fmt.Errorf("%s %s is larger than the %d bytes tcptune reads", what, path, MaxFileSize)
	case err != nil:
		return nil, fmt.Errorf("cannot read %s %s: %w", what, path, unwrapPathErr(err))
	}
	return b, nil
}

// notRegular is the error for a path that is not a regular file.
func notRegular(path, what string) error {
	st, serr := os.Stat(path) // for the message only: stat opens nothing
	switch {
	case serr == nil && st.IsDir():
		return fmt.Errorf("%s %s is a directory, not a file", what, path)
	case serr == nil:
		return fmt.Errorf("%s %s is not a regular file (%s); refusing to read it", what, path, fileKind(st.Mode()))
	}
	return fmt.Errorf("%s %s is not a regular file; refusing to read it", what, path)
}

func readRegular(path, what string) ([]byte, fs.FileInfo, error) {
	f, err := safefile.Open(path, safefile.FollowLinks) // O_NONBLOCK, then fstat: never blocks on a FIFO
	if errors.Is(err, safefile.ErrNotRegular) {
		return nil, nil, notRegular(path, what)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read %s %s: %w", what, path, unwrapPathErr(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read %s %s: %w", what, path, unwrapPathErr(err))
	}
	if st.Size() > MaxFileSize {
		return nil, nil, fmt.Errorf("%s %s is %d bytes, larger than the %d bytes tcptune reads", what, path, st.Size(), MaxFileSize)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read %s %s: %w", what, path, unwrapPathErr(err))
	}
	if len(data) > MaxFileSize {
		return nil, nil, fmt.Errorf("%s %s is larger than the %d bytes tcptune reads", what, path, MaxFileSize)
	}
	return data, st, nil
}

func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.String()
}

func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// load reads every source once.
func (l *Loader) load() error {
	if l.all != nil {
		return nil
	}
	all := map[string]*Profile{}
	add := func(p *Profile) {
		if old, ok := all[p.Name]; ok {
			p.Shadows = old.File
		}
		all[p.Name] = p
	}
	bs, err := Builtins()
	if err != nil {
		return err
	}
	for _, p := range bs {
		add(p)
	}
	for _, dir := range l.Dirs {
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue // no user profiles: fine
		}
		if err != nil {
			return fmt.Errorf("cannot read profile directory %s: %w", dir, unwrapPathErr(err))
		}
		if l.StrictPerms {
			// A directory others may write lets them add a profile.
			if st, err := os.Stat(dir); err == nil {
				if e := trustProblem(dir, st); e != nil {
					return e
				}
			}
		}
		for _, e := range entries {
			n := e.Name()
			if e.IsDir() || strings.HasPrefix(n, ".") || !(strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
				continue
			}
			p, err := readFile(filepath.Join(dir, n), OriginUser, l.StrictPerms)
			if err != nil {
				return err
			}
			add(p)
		}
	}
	for _, f := range l.Files {
		p, err := readFile(f, OriginFile, l.StrictPerms)
		if err != nil {
			return err
		}
		add(p)
	}
	l.all = all
	return nil
}

// All returns every known profile (after shadowing), sorted by name.
func (l *Loader) All() ([]*Profile, error) {
	if err := l.load(); err != nil {
		return nil, err
	}
	out := make([]*Profile, 0, len(l.all))
	for _, p := range l.all {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Names returns every known profile name, for shell completion.
func (l *Loader) Names() []string {
	ps, err := l.All()
	if err != nil {
		return nil
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	return names
}

// Get returns one profile by name, or, when ref looks like a path (contains a
// slash or ends in .yaml/.yml), reads that file.
func (l *Loader) Get(ref string) (*Profile, error) {
	if IsPath(ref) {
		if err := l.load(); err != nil {
			return nil, err
		}
		p, err := readFile(ref, OriginFile, l.StrictPerms)
		if err != nil {
			return nil, err
		}
		if old, ok := l.all[p.Name]; ok && old.File != p.File {
			p.Shadows = old.File
		}
		l.all[p.Name] = p // so that others can extend it
		return p, nil
	}
	if err := l.load(); err != nil {
		return nil, err
	}
	p, ok := l.all[ref]
	if !ok {
		return nil, fmt.Errorf("%w: %q (known: %s)", ErrNotFound, ref, strings.Join(l.Names(), ", "))
	}
	return p, nil
}

// IsPath reports whether a profile reference names a file rather than a
// profile: it has a slash or ends in .yaml, .yml or .conf (a sysctl.conf
// given as a profile is read, so that the error can point to import).
func IsPath(ref string) bool {
	return strings.ContainsRune(ref, '/') || strings.HasSuffix(ref, ".yaml") || strings.HasSuffix(ref, ".yml") || strings.HasSuffix(ref, ".conf")
}
