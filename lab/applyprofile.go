package lab

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/tcptune/tcptune/apply"
	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

// applyProfile applies r through tcptune's own transaction, as `tcptune
// apply --no-persist` would, with every path apply could touch moved into
// the run's temporary dir: nothing under /etc or /var/lib is read or
// written. The namespace is a child one, so host-wide keys come back as
// ActionHostWide and are not written.
func applyProfile(ctx context.Context, fs *sysctl.FS, r *profiles.Resolved, dir string) ([]apply.Setting, error) {
	res, err := apply.Apply(ctx, r, apply.Options{
		FS:         fs,
		Netns:      netns.Child,
		StateDir:   filepath.Join(dir, "state"),
		PersistDir: filepath.Join(dir, "sysctl.d"),
		SearchDirs: []string{filepath.Join(dir, "sysctl.d")},
		SysctlConf: filepath.Join(dir, "sysctl.conf"),
		NoPersist:  true,
		Version:    "lab",
	})
	if err != nil {
		return nil, fmt.Errorf("apply %v in the lab namespace: %w", r.Profiles, err)
	}
	return res.Settings, nil
}
