package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
)

// ExtName is the companion binary with the commands that need BPF and the
// labs: tcptune built with -tags tcptune_ext, every command included. The
// tcptune binary leaves them out, and with them cilium/ebpf and the lab
// code, so every diff and apply starts a smaller program: make bench
// measures the difference. `tcptune lab ...` and `tcptune doctor --trace`
// run it in place of tcptune (execve, the same arguments).
const ExtName = "tcptune-ext"

// extEnv names the companion explicitly (tests, unusual installs).
const extEnv = "TCPTUNE_EXT"

// extCandidates are the places tried for the companion, in order: $TCPTUNE_EXT,
// next to this binary (bin/ of a checkout, /usr/local/bin after make install),
// and ../lib/tcptune/ from it (/usr/lib/tcptune/, the .deb).
func extCandidates() []string {
	if p := os.Getenv(extEnv); p != "" {
		return []string{p}
	}
	exe, err := os.Executable()
	if err != nil {
		return nil
	}
	dir := filepath.Dir(exe)
	return []string{filepath.Join(dir, ExtName), filepath.Join(dir, "..", "lib", "tcptune", ExtName)}
}

// execExt replaces this process with the companion, given the arguments
// tcptune was run with and then extra (inserted before a "--", so they stay
// flags). what names the feature, for the error.
func execExt(g *Globals, what string, extra ...string) error {
	// In-process callers (tests) would be replaced by execve, their output
	// streams lost: the companion runs only from the tcptune binary.
	if faults.noReexec || g.Stdout != os.Stdout || g.Stderr != os.Stderr {
		return withHint(fmt.Errorf("%s is in %s, which runs only from the tcptune binary", what, ExtName),
			"in-process callers build with -tags tcptune_ext")
	}
	tried := extCandidates()
	for _, p := range tried {
		st, err := os.Stat(p)
		if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			continue
		}
		err = syscall.Exec(p, append([]string{p}, extArgs(g.args, extra)...), os.Environ())
		return withHint(fmt.Errorf("%s: running %s: %w", what, p, err), "check that %s is an executable tcptune-ext of this version", p)
	}
	if len(tried) == 0 {
		return withHint(errors.New(what+": cannot find "+ExtName+": this binary's path is unknown"), "set %s to the path of %s", extEnv, ExtName)
	}
	return withHint(fmt.Errorf("%s needs %s, which is not installed (looked for %v)", what, ExtName, tried),
		"'make build' puts it in bin/ next to tcptune and 'make install' installs both; or set %s to its path; from a checkout, 'go run -tags tcptune_ext ./cmd/tcptune' has it built in", extEnv)
}

// extArgs is args with extra added as flags: before the first "--", after
// which every argument is positional.
func extArgs(args, extra []string) []string {
	i := slices.Index(args, "--")
	if i < 0 {
		i = len(args)
	}
	return slices.Concat(args[:i], extra, args[i:])
}
