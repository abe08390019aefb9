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
// file's base name without extension.
func ReadFile(path string, origin Origin) (*Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read profile %s: %w", path, unwrapPathErr(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read profile %s: %w", path, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("profile %s is a directory, not a file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read profile %s: %w", path, err)
	}
	base := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(path), ".yaml"), ".yml")
	def := ""
	if ValidName(base) {
		def = base
	}
	return Decode(path, data, origin, def)
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
		for _, e := range entries {
			n := e.Name()
			if e.IsDir() || strings.HasPrefix(n, ".") || !(strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
				continue
			}
			p, err := ReadFile(filepath.Join(dir, n), OriginUser)
			if err != nil {
				return err
			}
			add(p)
		}
	}
	for _, f := range l.Files {
		p, err := ReadFile(f, OriginFile)
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
		p, err := ReadFile(ref, OriginFile)
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
// profile.
func IsPath(ref string) bool {
	return strings.ContainsRune(ref, '/') || strings.HasSuffix(ref, ".yaml") || strings.HasSuffix(ref, ".yml")
}
