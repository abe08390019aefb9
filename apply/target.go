package apply

import (
	"errors"
	"fmt"
	"os"
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
	// BootID is the kernel's boot id when it was applied: a namespace's
	// identity means something only within one boot.
	BootID string `json:"boot_id,omitempty"`
	// System says the namespace was the one boot applies sysctl.d to (the
	// initial namespace, or a booted container's own, where PID 1 runs): after
	// a reboot (a new BootID) that system's namespace has a new identity but
	// is the same target, and its persisted file is what made the values
	// come back. MachineID tells two systems apart that share a state
	// directory.
	System    bool   `json:"system,omitempty"`
	MachineID string `json:"machine_id,omitempty"`
}

// machineIDFile is systemd's machine id (machine-id(5)): the host's and each
// container's own.
var machineIDFile = "/etc/machine-id"

// bootIDKey is the kernel's per-boot random id (drivers/char/random.c).
var bootIDKey = sysctl.Known("kernel.random.boot_id", "kernel/random/boot_id")

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
	if v, err := o.FS.Read(bootIDKey); err == nil {
		w.BootID = v.String()
	}
	if w.System, _ = netns.Detect(sysctl.DefaultRoot).PersistDefault(); w.System {
		if b, err := os.ReadFile(machineIDFile); err == nil {
			w.MachineID = strings.TrimSpace(string(b))
		}
	}
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
		if err := checkWhere(here, r); err != nil {
			return err
		}
	}
	return nil
}

// checkWhere refuses r unless it was applied to here.
func checkWhere(here *Where, r *Record) error {
	root := filepath.Clean(r.SysctlRoot)
	var there *Where
	if r.Where != nil {
		there, root = r.Where, filepath.Clean(r.Where.SysctlRoot)
	}
	switch {
	case root != here.SysctlRoot:
		return &OtherTargetError{Transaction: r.ID,
			What: fmt.Sprintf("was applied to sysctl root %s, this is %s", root, here.SysctlRoot)}
	case there == nil || there.Netns == nil || here.Netns == nil || *there.Netns == *here.Netns:
		return nil
	case there.BootID == "" || here.BootID == "" || there.BootID == here.BootID:
		// Same boot: the namespace it was applied in is another one.
	case there.System && here.System && (there.MachineID == "" || here.MachineID == "" || there.MachineID == here.MachineID):
		// The system's own namespace (the host's, or a booted container's,
		// whose boot id systemd-nspawn makes per boot) is the same target
		// after a reboot, under a new identity.
		return nil
	default:
		return &OtherTargetError{Transaction: r.ID, EarlierBoot: true,
			What: fmt.Sprintf("was applied in %s during an earlier boot; that namespace no longer exists, this is %s", there, here)}
	}
	return &OtherTargetError{Transaction: r.ID, What: fmt.Sprintf("was applied in %s, this is %s", there, here)}
}

// OtherTargetError is rollback's refusal of a transaction applied to
// another namespace or sysctl root. It matches ErrOtherTarget and carries
// its hint.
type OtherTargetError struct {
	Transaction string
	What        string // "was applied in ..., this is ..."
	// EarlierBoot: the namespace belonged to an earlier boot and is gone.
	EarlierBoot bool
}

func (e *OtherTargetError) Error() string {
	return fmt.Sprintf("%v: transaction %s %s; nothing was restored", ErrOtherTarget, e.Transaction, e.What)
}

func (e *OtherTargetError) Unwrap() error { return ErrOtherTarget }

// Hint says how to reach the target, or that nothing is left there.
func (e *OtherTargetError) Hint() string {
	if e.EarlierBoot {
		return "nothing is left to restore there; 'tcptune rollback --resolve' closes the transaction without writing"
	}
	return "run the rollback where the transaction was applied, with the same --state-dir: " +
		"'tcptune rollback --netns NAME|PID|/proc/PID/ns/net' or 'ip netns exec NAME tcptune rollback' (or the same --sysctl-root)"
}
