package apply

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/sysctl"
)

// ErrOtherTarget: rollback was asked to restore a transaction that was
// applied to another network namespace or sysctl root. Writing its
// originals here would change the wrong namespace and leave the right one
// with the profile.
var ErrOtherTarget = errors.New("transaction was applied elsewhere")

// Where is the target a transaction was applied to: the sysctl root and,
// for the live tree, the identity of the network namespace it belongs to
// (/proc/sys/net follows the namespace of the process that opens it).
type Where struct {
	SysctlRoot string `json:"sysctl_root"`
	// Netns is the namespace's identity; absent for a fake root.
	Netns *netns.ID `json:"netns,omitempty"`
	// NetnsNames are its `ip netns` names when it had any, for the hint.
	NetnsNames []string `json:"netns_names,omitempty"`
}

// where describes the target of o: its sysctl root and, on the live tree,
// the namespace of the calling thread.
func (o Options) where() (*Where, error) {
	w := &Where{SysctlRoot: filepath.Clean(o.FS.Root())}
	if w.SysctlRoot != sysctl.DefaultRoot {
		return w, nil
	}
	id, err := netns.Self()
	if err != nil {
		return nil, fmt.Errorf("identify this network namespace: %w", err)
	}
	w.Netns, w.NetnsNames = &id, netns.Names(id)
	return w, nil
}

func (w *Where) String() string {
	if w.Netns == nil {
		return "sysctl root " + w.SysctlRoot
	}
	s := "network namespace " + w.Netns.String()
	if len(w.NetnsNames) > 0 {
		s += " (ip netns " + strings.Join(w.NetnsNames, ", ") + ")"
	}
	return s
}

// stamp records where rec is applied. A record that cannot say where it
// was applied would let a later rollback restore it anywhere, so failing to
// tell fails the apply before anything is written.
func (o Options) stamp(rec *Record) error {
	w, err := o.where()
	if err != nil {
		return err
	}
	rec.Where = w
	return nil
}

// checkTargets refuses to restore any of recs outside the target it was
// applied to. Records written before tcptune recorded targets carry only
// the sysctl root, which is still compared.
func (o Options) checkTargets(recs []*Record) error {
	here, err := o.where()
	if err != nil {
		return err
	}
	for _, r := range recs {
		root := filepath.Clean(r.SysctlRoot)
		var there *Where
		if r.Where != nil {
			there, root = r.Where, filepath.Clean(r.Where.SysctlRoot)
		}
		switch {
		case root != here.SysctlRoot:
			return fmt.Errorf("%w: transaction %s was applied to sysctl root %s, this is %s; nothing was restored",
				ErrOtherTarget, r.ID, root, here.SysctlRoot)
		case there != nil && there.Netns != nil && here.Netns != nil && *there.Netns != *here.Netns:
			return fmt.Errorf("%w: transaction %s was applied in %s, this is %s; nothing was restored",
				ErrOtherTarget, r.ID, there, here)
		}
	}
	return nil
}

// RollbackHint says how to reach the target of an ErrOtherTarget refusal;
// "" for other errors.
func RollbackHint(err error) string {
	if !errors.Is(err, ErrOtherTarget) {
		return ""
	}
	return "run the rollback where the transaction was applied, with the same --state-dir: " +
		"'tcptune rollback --netns NAME|PID|/proc/PID/ns/net' or 'ip netns exec NAME tcptune rollback' (or the same --sysctl-root)"
}
