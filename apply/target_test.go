package apply

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcptune/tcptune/internal/fakeroot"
	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

// TestRollbackRefusesOtherSysctlRoot: a transaction applied to one tree and
// rolled back against another, with the same state directory, writes
// nothing and stays open.
func TestRollbackRefusesOtherSysctlRoot(t *testing.T) {
	e := newTxEnv(t, stock)
	res, err := Apply(context.Background(), builtin(t, profiles.FailFast), e.opts)
	must(t, err)
	other := filepath.Join(e.dir, "other-root")
	must(t, fakeroot.Write(other, stock))
	before := tree(t, other)
	o := e.opts
	o.FS = sysctl.NewFS(other)
	_, err = Rollback(context.Background(), o, "")
	if !errors.Is(err, ErrOtherTarget) || !strings.Contains(err.Error(), e.fs.Root()) || hintOf(err) == "" {
		t.Fatalf("rollback on another root: %v, want ErrOtherTarget naming %s", err, e.fs.Root())
	}
	if d := cmp.Diff(before, tree(t, other)); d != "" {
		t.Errorf("the other root was written (-before +after):\n%s", d)
	}
	// The transaction is still open, and its own target can roll it back.
	if _, err := Rollback(context.Background(), e.opts, ""); err != nil {
		t.Fatalf("rollback on the right root: %v", err)
	}
	st := store{dir: e.opts.StateDir}
	r, err := st.loadID(res.Transaction)
	must(t, err)
	if r.State != TxRolledBack || r.Where == nil || r.Where.SysctlRoot != e.fs.Root() || r.Where.Netns != nil {
		t.Errorf("record after rollback: state %s where %+v", r.State, r.Where)
	}
}

// TestRollbackRefusesOtherNetns: on the live tree the record carries the
// namespace's identity; one from another namespace is refused.
func TestRollbackRefusesOtherNetns(t *testing.T) {
	self, err := netns.Self()
	if err != nil {
		t.Skip(err)
	}
	o := Options{FS: sysctl.NewFS(sysctl.DefaultRoot)}
	here, err := o.where()
	must(t, err)
	if here.Netns == nil || *here.Netns != self {
		t.Fatalf("where on the live tree = %+v, want namespace %s", here, self)
	}
	other := netns.ID{Dev: self.Dev, Ino: self.Ino + 1}
	rec := &Record{ID: "000001-20250102T030405Z", SysctlRoot: sysctl.DefaultRoot,
		Where: &Where{SysctlRoot: sysctl.DefaultRoot, Netns: &other, NetnsNames: []string{"web"}}}
	err = o.checkTargets([]*Record{rec})
	if !errors.Is(err, ErrOtherTarget) || !strings.Contains(err.Error(), other.String()+" (ip netns web)") ||
		!strings.Contains(err.Error(), "this is network namespace "+self.String()) {
		t.Fatalf("checkTargets: %v", err)
	}
	rec.Where.Netns = &self
	if err := o.checkTargets([]*Record{rec}); err != nil {
		t.Errorf("own namespace refused: %v", err)
	}
	// Another boot: the system's own namespace is the same target with a
	// new identity; a child namespace of an earlier boot is gone.
	rec.Where = &Where{SysctlRoot: sysctl.DefaultRoot, Netns: &other, BootID: "earlier-boot", System: true}
	here.System = true
	if err := checkWhere(here, rec); err != nil {
		t.Errorf("the system's namespace after a reboot refused: %v", err)
	}
	rec.Where.MachineID, here.MachineID = "another-system", "this-system"
	if err := checkWhere(here, rec); !errors.Is(err, ErrOtherTarget) {
		t.Errorf("another system's namespace sharing the state directory: %v, want ErrOtherTarget", err)
	}
	rec.Where.MachineID, rec.Where.System = "this-system", false
	if err := checkWhere(here, rec); !errors.Is(err, ErrOtherTarget) || !strings.Contains(hintOf(err), "--resolve") {
		t.Errorf("a child namespace of an earlier boot: %v (hint %q), want ErrOtherTarget pointing to --resolve", err, hintOf(err))
	}
	rec.Where.BootID = here.BootID
	if here.BootID == "" || checkWhere(here, rec) == nil {
		t.Errorf("same boot (%q), other namespace: accepted", here.BootID)
	}
	// A record from before targets were recorded: only the root is compared.
	if err := o.checkTargets([]*Record{{ID: rec.ID, SysctlRoot: sysctl.DefaultRoot}}); err != nil {
		t.Errorf("legacy record refused: %v", err)
	}
}

// hintOf is the hint rollback's refusal carries ("" for another error).
func hintOf(err error) string {
	var e *OtherTargetError
	if !errors.As(err, &e) {
		return ""
	}
	return e.Hint()
}
