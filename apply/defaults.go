package apply

import (
	"path/filepath"
	"sort"
	"time"

	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
	"github.com/tcptune/tcptune/validate"
)

// withDefaults fills the zero fields of o.
func (o Options) withDefaults() Options {
	if o.FS == nil {
		o.FS = sysctl.NewFS("")
	}
	if o.IO == nil {
		o.IO = o.FS
	}
	if o.StateDir == "" {
		o.StateDir = DefaultStateDir
	}
	if o.PersistDir == "" {
		o.PersistDir = DefaultPersistDir
	}
	if o.PersistName == "" {
		o.PersistName = DefaultPersistName
	}
	if o.SearchDirs == nil {
		for _, d := range DefaultSearchDirs {
			if d == DefaultPersistDir {
				d = o.PersistDir
			}
			o.SearchDirs = append(o.SearchDirs, d)
		}
	}
	if o.SysctlConf == "" {
		o.SysctlConf = DefaultSysctlConf
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Validator == nil {
		k := &validate.Kernel{FS: o.FS, Netns: o.Netns}
		o.Validator = func(r *profiles.Resolved) []validate.Diagnostic { return validate.Validate(r, k) }
	}
	return o
}

// PersistPath is the owned file.
func (o Options) PersistPath() string {
	o = o.withDefaults()
	return filepath.Join(o.PersistDir, o.PersistName)
}

func (o Options) boot(overlay []byte) bootConfig {
	return bootConfig{
		dirs:        o.SearchDirs,
		sysctlConf:  o.SysctlConf,
		overlayPath: filepath.Join(o.PersistDir, o.PersistName),
		overlay:     overlay,
	}
}

func sortOriginals(os []Original) {
	sort.SliceStable(os, func(i, j int) bool { return os[i].Key.Compare(os[j].Key) < 0 })
}
