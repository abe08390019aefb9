package apply

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/renameio/v2"

	"github.com/tcptune/tcptune/internal/safefile"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

// ownedHeader is the first line of the persisted file; tcptune only merges
// with a file that starts with it.
const ownedHeader = "# Managed by tcptune: 'tcptune apply' replaces this file, 'tcptune rollback' restores the previous one. Do not edit."

// ownedFile is the content of the persisted file.
type ownedFile struct {
	Profiles []string
	Version  string
	Written  time.Time
	Entries  []Original // Key and Target used; sorted by key path
}

// render produces the file. It refuses anything that would not come back
// as exactly one "key = value" line: the guarantee that no profile can
// inject a second line into sysctl.d.
func (o ownedFile) render() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(ownedHeader + "\n")
	for _, p := range o.Profiles {
		if !profiles.ValidName(p) {
			return nil, fmt.Errorf("%w: profile name %q cannot be written to a sysctl.d header", ErrInvalid, p)
		}
	}
	if strings.ContainsAny(o.Version, "\n\r\x00") {
		return nil, fmt.Errorf("%w: version %q contains a line break", ErrInvalid, o.Version)
	}
	fmt.Fprintf(&b, "# profiles: %s\n", strings.Join(o.Profiles, ", "))
	fmt.Fprintf(&b, "# tcptune-version: %s\n", o.Version)
	fmt.Fprintf(&b, "# written: %s\n", o.Written.UTC().Format(time.RFC3339))
	for _, e := range o.Entries {
		if err := checkLine(e.Key, e.Target); err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "%s = %s\n", e.Key, e.Target)
	}
	return b.Bytes(), nil
}

// checkLine refuses a key or value that would not survive as one line of a
// sysctl.d file, read back to the same key and value.
func checkLine(k sysctl.Key, v sysctl.Value) error {
	rk, err := sysctl.ParseKey(k.String())
	if err != nil || rk != k || strings.HasPrefix(k.String(), "-") {
		return fmt.Errorf("%w: key %q cannot be written as one sysctl.d line", ErrInvalid, k.String())
	}
	rv, err := sysctl.ParseValue(string(v))
	if err != nil || rv != v {
		return fmt.Errorf("%w: %s: value %q cannot be written as one sysctl.d line", ErrInvalid, k, string(v))
	}
	return nil
}

// body is the content minus the "written" line, to tell whether a rewrite
// would change anything but the time.
func body(b []byte) string {
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, "# written: ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// parseOwned reads back a file tcptune wrote; ok is false for a file that is
// not tcptune's (then it is replaced, not merged: the snapshot keeps it).
func parseOwned(path string, b []byte) (o ownedFile, ok bool) {
	if !bytes.HasPrefix(b, []byte(ownedHeader+"\n")) {
		return o, false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if s, found := strings.CutPrefix(l, "# profiles: "); found {
			for _, p := range strings.Split(s, ",") {
				if p = strings.TrimSpace(p); profiles.ValidName(p) {
					o.Profiles = append(o.Profiles, p)
				}
			}
		}
	}
	as, err := parseConf(path, bytes.NewReader(b))
	if err != nil {
		return o, false
	}
	for _, a := range as {
		k, err := sysctl.ParseKey(a.Key)
		if err != nil {
			continue
		}
		o.Entries = append(o.Entries, Original{Key: k, Target: a.Value})
	}
	return o, true
}

// merge returns the file after this apply: the previous tcptune file's
// entries for keys this apply does not touch are kept (they are still live
// from an earlier apply), this apply's entries win.
func merge(prev ownedFile, prevOK bool, profs []string, entries []Original) ownedFile {
	out := ownedFile{}
	seen := map[sysctl.Key]bool{}
	for _, e := range entries {
		seen[e.Key] = true
	}
	all := append([]Original(nil), entries...)
	if prevOK {
		out.Profiles = append(out.Profiles, prev.Profiles...)
		for _, e := range prev.Entries {
			if !seen[e.Key] {
				seen[e.Key] = true
				all = append(all, e)
			}
		}
	}
	for _, p := range profs {
		dup := false
		for _, q := range out.Profiles {
			dup = dup || q == p
		}
		if !dup {
			out.Profiles = append(out.Profiles, p)
		}
	}
	sortOriginals(all)
	out.Entries = all
	return out
}

// snapshot records the persisted file as it is, without following a
// symlink.
func snapshot(path string) (*FileSnapshot, error) {
	s := &FileSnapshot{Path: path}
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("inspect persisted file: %w", err)
	}
	s.Exists = true
	switch {
	case st.Mode()&fs.ModeSymlink != 0:
		t, err := os.Readlink(path)
		if err != nil {
			return nil, fmt.Errorf("inspect persisted file: %w", err)
		}
		s.Symlink = t
	case st.Mode().IsRegular():
		b, err := safefile.ReadFile(path, maxConfSize, safefile.NoFollow)
		if err != nil {
			return nil, fmt.Errorf("read persisted file: %w", err)
		}
		s.Content, s.Mode = b, st.Mode().Perm()
	default:
		return nil, fmt.Errorf("persisted file %s is a %v, not a file; move it away", path, st.Mode().Type())
	}
	return s, nil
}

// beforeRename is a test hook: called with the temp file fully written and
// synced, before the rename. A non-nil error aborts like a crash would.
var beforeRename func(tmp string) error

// writeAtomic replaces path with data: temp file in the same directory,
// fsync, rename over path (replacing a symlink, never writing through it),
// fsync the directory. A crash at any point leaves the old or the new file.
// renamed reports whether the rename happened: it is the commit point, so
// an error after it (the directory fsync) still means path holds data.
func writeAtomic(path string, data []byte, mode fs.FileMode) (renamed bool, err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("create %s: %w", dir, err)
	}
	pf, err := renameio.NewPendingFile(path, renameio.WithTempDir(dir), renameio.WithStaticPermissions(mode))
	if err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	defer pf.Cleanup()
	if _, err := pf.Write(data); err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	if beforeRename != nil {
		if err := pf.Sync(); err != nil {
			return false, err
		}
		if err := beforeRename(pf.Name()); err != nil {
			return false, fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := pf.CloseAtomicallyReplace(); err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	return true, syncDir(dir)
}

// maxConfSize bounds what is read of a sysctl.d file or the persisted file.
const maxConfSize = 8 << 20

// sweepPersistTemps removes the temp files killed runs left next to the
// persisted file (renameio names them "." + name + digits). Called with
// the lock held.
func sweepPersistTemps(dir, name string) {
	names, err := safefile.ReadDirNames(dir)
	if err != nil {
		return
	}
	prefix := "." + name
	for _, n := range names {
		rest, ok := strings.CutPrefix(n, prefix)
		if !ok || rest == "" || strings.Trim(rest, "-0123456789") != "" {
			continue
		}
		p := filepath.Join(dir, n)
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() {
			_ = os.Remove(p)
		}
	}
}

// restoreSnapshot puts the persisted file back as s recorded it.
func restoreSnapshot(s *FileSnapshot) error {
	if s == nil || !s.Changed {
		return nil
	}
	dir := filepath.Dir(s.Path)
	switch {
	case !s.Exists:
		err := os.Remove(s.Path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // never written (a failure before persisting)
		}
		if err != nil {
			return fmt.Errorf("remove persisted file: %w", err)
		}
		return syncDir(dir)
	case s.Symlink != "":
		if err := renameio.Symlink(s.Symlink, s.Path); err != nil {
			return fmt.Errorf("restore symlink %s: %w", s.Path, err)
		}
		return syncDir(dir)
	}
	mode := s.Mode
	if mode == 0 {
		mode = 0o644
	}
	_, err := writeAtomic(s.Path, s.Content, mode)
	return err
}
