package apply

import (
	"context"
	"errors"
	"maps"
	"os"
	"slices"
	"testing"

	"github.com/tcptune/tcptune/sysctl"
)

// TestGrantedKeyRollsBack: a key written under a trusted profile's allow:
// grant is recorded as granted, so its record (and the baseline) can be
// rolled back; the same grant in a record file others could edit is not
// honoured and the record is reported corrupt, nothing written.
func TestGrantedKeyRollsBack(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("allow: is honoured only in a root-owned profile")
	}
	vals := maps.Clone(stock)
	vals["kernel.core_pattern"] = "core"
	e := newTxEnv(t, vals)
	k := sysctl.MustKey("kernel.core_pattern")
	r := profileFile(t, "name: p\nallow: [kernel.core_pattern]\nsettings:\n  net.core.somaxconn: 8192\n  kernel.core_pattern: core.%p\n")
	res, err := Apply(context.Background(), r, e.opts)
	must(t, err)
	st := store{dir: e.opts.StateDir}
	rec, err := st.loadID(res.Transaction)
	must(t, err)
	if !slices.Equal(rec.Granted, []string{"kernel.core_pattern"}) {
		t.Fatalf("record granted = %v, want [kernel.core_pattern]", rec.Granted)
	}
	if _, err := Rollback(context.Background(), e.opts, ""); err != nil {
		t.Fatalf("rollback of a granted key: %v", err)
	}
	if got, _ := e.fs.Read(k); got != "core" {
		t.Errorf("core_pattern after rollback = %q, want core", got)
	}
	if _, err := RollbackBaseline(context.Background(), e.opts); err != nil {
		t.Errorf("rollback --baseline with a granted key: %v", err)
	}

	// The same record, made writable by others: the grant is not honoured.
	res, err = Apply(context.Background(), r, e.opts)
	must(t, err)
	must(t, os.Chmod(st.path(res.Transaction), 0o666))
	_, err = Rollback(context.Background(), e.opts, "")
	if !errors.Is(err, ErrCorruptRecord) {
		t.Fatalf("rollback of a group/other-writable record with a grant: %v, want ErrCorruptRecord", err)
	}
	if got, _ := e.fs.Read(k); got != "core.%p" {
		t.Errorf("core_pattern = %q: written from an untrusted record", got)
	}
}
