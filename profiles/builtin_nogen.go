//go:build tcptune_nogen

package profiles

import "errors"

// Built with -tags tcptune_nogen (only internal/genbuiltins is), the package
// compiles without builtin_gen.go, so a stale or broken generated file never
// stops `go generate ./profiles` from rewriting it. Such a build has no
// built-ins.
func builtinProfiles() ([]*Profile, error) {
	return nil, errors.New("built with -tags tcptune_nogen: no built-in profiles (run go generate ./profiles)")
}
