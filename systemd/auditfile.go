package systemd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// AuditFileName is the audit file's name inside the state directory.
const AuditFileName = "audit.jsonl"

// maxAuditSize is the size at which the audit file is rotated to FILE.1, so
// a reconcile loop fighting another tool for weeks cannot fill /var.
const maxAuditSize = 4 << 20

// AppendAudit appends recs to path as JSON lines in one write. It does not
// fsync: the audit trail is a record of what happened, not part of the
// transaction (the record and the persisted file are), and after a power
// loss a torn last line is skipped by ReadAudit.
func AppendAudit(path string, recs []Record) error {
	var buf bytes.Buffer
	for _, r := range recs {
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("encode audit record for %s: %w", r.Key, err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	if st, err := os.Lstat(path); err == nil && st.Mode().IsRegular() && st.Size()+int64(buf.Len()) > maxAuditSize {
		if err := os.Rename(path, path+".1"); err != nil {
			return fmt.Errorf("rotate audit file: %w", err)
		}
	}
	// Never through a symlink (root appending to any file a link names),
	// never blocking on a FIFO.
	f, err := openAppend(path, 0o640)
	if err != nil {
		return fmt.Errorf("open audit file: %w", err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("write audit file %s: %w", path, err)
	}
	// No fsync: the audit trail is not part of the crash-safety promise
	// (the journal has the same records), and a tail torn by a power loss
	// is skipped by ReadAudit.
	return f.Close()
}

// AuditFilter selects records; zero fields match everything.
type AuditFilter struct {
	Key    string
	Action Action
	Since  time.Time
	// Last keeps only the last N matching records (0: all).
	Last int
}

func (f AuditFilter) match(r Record) bool {
	return (f.Key == "" || r.Key == f.Key) &&
		(f.Action == "" || r.Action == f.Action) &&
		(f.Since.IsZero() || !r.Time.Before(f.Since))
}

// ReadAudit returns the records of path (and its rotated FILE.1, older
// first) that match f, oldest first. A missing file is no records. A line
// that does not decode - the torn tail of a write cut by a crash - is
// skipped and counted in skipped.
//
// With f.Last set, only the file's tail is read when it holds enough
// matching records (status shows the last few of a file that grows with
// every apply: its cost must not); skipped then counts the lines read.
func ReadAudit(path string, f AuditFilter) (recs []Record, skipped int, err error) {
	if f.Last > 0 {
		if recs, skipped, ok, err := tailAudit(path, f); err != nil || ok {
			return recs, skipped, err
		}
	}
	for _, p := range []string{path + ".1", path} {
		file, err := openRead(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, 0, fmt.Errorf("read audit file: %w", err)
		}
		got, bad, err := parseAudit(file, f)
		file.Close()
		if err != nil {
			return nil, 0, fmt.Errorf("read audit file %s: %w", p, err)
		}
		recs, skipped = append(recs, got...), skipped+bad
	}
	if f.Last > 0 && len(recs) > f.Last {
		recs = recs[len(recs)-f.Last:]
	}
	return recs, skipped, nil
}

// tailAudit reads growing tails of path until they hold f.Last matching
// records; ok is false when the whole file would be needed.
func tailAudit(path string, f AuditFilter) (recs []Record, skipped int, ok bool, err error) {
	file, err := openRead(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, fmt.Errorf("read audit file: %w", err)
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return nil, 0, false, fmt.Errorf("read audit file: %w", err)
	}
	size := st.Size()
	// A record is about 200 bytes: the first tail holds f.Last with room
	// to spare, so status reads the same few KiB at 20 records as at 20k.
	for chunk := max(int64(f.Last)*512, 2<<10); ; chunk *= 4 {
		whole := chunk >= size
		if whole {
			chunk = size
		}
		buf := make([]byte, chunk)
		if _, err := file.ReadAt(buf, size-chunk); err != nil && err != io.EOF {
			return nil, 0, false, fmt.Errorf("read audit file %s: %w", path, err)
		}
		// The first line is most likely cut: start after it. Decode from
		// the end, only as many lines as it takes.
		if i := bytes.IndexByte(buf, '\n'); i >= 0 && !whole {
			buf = buf[i+1:]
		}
		lines := bytes.Split(buf, []byte{'\n'})
		var got []Record
		bad := 0
		for i := len(lines) - 1; i >= 0 && len(got) < f.Last; i-- {
			line := bytes.TrimSpace(lines[i])
			if len(line) == 0 {
				continue
			}
			var rec Record
			if err := json.Unmarshal(line, &rec); err != nil || rec.Key == "" {
				bad++
				continue
			}
			if f.match(rec) {
				got = append(got, rec)
			}
		}
		if len(got) >= f.Last {
			slices.Reverse(got)
			return got, bad, true, nil
		}
		if whole {
			return nil, 0, false, nil // the rotated file too, then
		}
	}
}

func parseAudit(r io.Reader, f AuditFilter) (recs []Record, skipped int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var rec Record
		if err := json.Unmarshal(line, &rec); err != nil || rec.Key == "" {
			skipped++
			continue
		}
		if f.match(rec) {
			recs = append(recs, rec)
		}
	}
	return recs, skipped, sc.Err()
}

// openAppend opens the audit file for appending: O_NOFOLLOW (a symlink
// planted at the path must not make root append to the file it names),
// O_NONBLOCK and a regular-file check (a FIFO must not hang the command).
// systemd is a leaf package, so this does not use internal/safefile.
func openAppend(path string, perm fs.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, perm)
	if err != nil {
		return nil, err
	}
	return regularOnly(f)
}

// openRead opens an audit file for reading without following a symlink or
// blocking on a FIFO.
func openRead(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return regularOnly(f)
}

func regularOnly(f *os.File) (*os.File, error) {
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file (%v)", f.Name(), st.Mode().Type())
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
