package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tcptune/tcptune/apply"
	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/sysctl"
)

// Errors reach the user in one shape (age's tone):
//
//	DETAIL LINE...          one per problem, when the error has several (a profile's diagnostics)
//	tcptune: error: ...     one line
//	tcptune: hint: ...      one line, when there is something to do about it
//
// errorTable is the one place that maps an error to its exit status and
// hint. The hint is, in order: the command's own (withHint: it knows the
// arguments), the error's (a domain error with a Hint() method knows its
// transaction or plan), then the table's. Errors are matched with
// errors.Is/As only, never by their text.

// hinter is an error that says what to do about itself.
type hinter interface{ Hint() string }

// detailer is an error with several problems, printed one per line before
// the error line.
type detailer interface{ Details() []string }

// usageError is a command line tcptune cannot run: an unknown command or
// flag, a bad flag value, the wrong number of arguments.
type usageError struct {
	err  error
	path string // the command, for the hint
}

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// errorClass is one row of the table.
type errorClass struct {
	name string
	is   func(error) bool
	code int
	hint string // "" : no hint unless the command or the error gives one
}

func is(target error) func(error) bool { return func(err error) bool { return errors.Is(err, target) } }

func isUsage(err error) bool { var u usageError; return errors.As(err, &u) }

// errorTable: the first matching row decides. Every error is exit status 1
// (status 2 is drift or findings, never an error: exitError); the rows tell
// the classes apart for their hints, and the tests hold each row.
var errorTable = []errorClass{
	{"usage", isUsage, ExitError, ""}, // hint: the command's --help (usageHint)
	{"restore-incomplete", is(apply.ErrRestore), ExitError,
		"fix the cause and run 'tcptune rollback' again; the transaction stays open ('tcptune status' shows it)"},
	{"not-recorded", is(apply.ErrNotRecorded), ExitError,
		"a running 'tcptune reconcile --mode enforce' may put these keys back: stop it (systemctl stop tcptune-reconcile) or re-run 'tcptune rollback'"},
	{"interrupted", func(err error) bool { return errors.Is(err, apply.ErrInterrupted) || errors.Is(err, context.Canceled) }, ExitError,
		"interrupted: nothing more was done; 'tcptune status' shows where things stand"},
	{"locked", is(apply.ErrLocked), ExitError, "wait for the other tcptune to finish, or raise --lock-wait"},
	{"corrupt-record", is(apply.ErrCorruptRecord), ExitError,
		"run 'tcptune status'; 'tcptune rollback --baseline' restores every key tcptune changed to its value from before tcptune, 'tcptune rollback --resolve --to ID' keeps the live values"},
	{"crashed", is(apply.ErrCrashed), ExitError,
		"run 'tcptune status', then 'tcptune rollback' (or 'tcptune rollback --resolve' to keep the live values)"},
	{"stale-plan", is(apply.ErrStalePlan), ExitError, "review and save a new plan: tcptune diff PROFILES --out FILE"},
	{"plan-profile-changed", is(apply.ErrPlanProfile), ExitError, "review and save a new plan: tcptune diff PROFILES --out FILE"},
	{"plan-file", is(apply.ErrPlanFile), ExitError, "make a plan with 'tcptune diff PROFILES --out FILE'"},
	{"overridden", is(apply.ErrOverridden), ExitError, "remove or rename the overriding file, or drop --strict-persist"},
	{"other-target", is(apply.ErrOtherTarget), ExitError, ""}, // apply.OtherTargetError carries it
	{"no-transaction", is(apply.ErrNoTransaction), ExitError, "run 'tcptune status' to see the transactions"},
	{"invalid", is(apply.ErrInvalid), ExitError, "run 'tcptune validate --kernel PROFILES' and 'tcptune diff PROFILES'"},
	{"profile-not-found", is(profiles.ErrNotFound), ExitError, "run 'tcptune list' to see the profiles, or pass a file with -f FILE"},
	{"profile-invalid", is(profiles.ErrDecode), ExitError, "fix the file at the line shown; 'tcptune validate FILE' checks it"},
	{"netns-permission", is(netns.ErrPermission), ExitError, "run as root (CAP_SYS_ADMIN)"},
	{"permission", is(sysctl.ErrPermission), ExitError, "run as root"},
	{"read-only", is(sysctl.ErrReadOnly), ExitError,
		"this /proc/sys is read-only here: a container needs it writable (privileged, or the runtime's sysctl support)"},
	{"no-sysctl-root", is(sysctl.ErrNoRoot), ExitError, "check --sysctl-root; /proc must be mounted"},
	{"other", func(error) bool { return true }, ExitError, ""},
}

// classify finds err's row.
func classify(err error) errorClass {
	for _, c := range errorTable {
		if c.is(err) {
			return c
		}
	}
	return errorTable[len(errorTable)-1]
}

// explain returns err's exit status and its hint ("" none).
func explain(err error) (int, string) {
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code, ""
	}
	c := classify(err)
	var he hintError
	if errors.As(err, &he) && he.hint != "" {
		return c.code, he.hint
	}
	var h hinter
	if errors.As(err, &h) && h.Hint() != "" {
		return c.code, h.Hint()
	}
	var u usageError
	if errors.As(err, &u) {
		return c.code, fmt.Sprintf("see '%s --help'", u.path)
	}
	return c.code, c.hint
}

// report prints err for the user and returns the exit status.
func report(w io.Writer, err error) int {
	code, hint := explain(err)
	var ee exitError
	if errors.As(err, &ee) {
		return code
	}
	var d detailer
	if errors.As(err, &d) {
		for _, line := range d.Details() {
			fmt.Fprintln(w, oneLine(line))
		}
	}
	fmt.Fprintf(w, "tcptune: error: %s\n", oneLine(err.Error()))
	if hint != "" {
		fmt.Fprintf(w, "tcptune: hint: %s\n", oneLine(hint))
	}
	return code
}

// oneLine keeps a message on one line: an error that spans lines (a
// kernel's or a library's) has its line breaks turned into "; ".
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return strings.Join(parts, "; ")
}

// usageErrors makes cobra's own refusals usage errors structurally: flag
// parse errors through SetFlagErrorFunc, and each command's positional
// argument check wrapped. An unknown command is found with root.Find before
// executing (usageOf).
func usageErrors(root *cobra.Command) {
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{err: err, path: c.CommandPath()}
	})
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if a := c.Args; a != nil {
			c.Args = func(cmd *cobra.Command, args []string) error {
				if err := a(cmd, args); err != nil {
					return usageError{err: err, path: cmd.CommandPath()}
				}
				return nil
			}
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
}

// usageOf returns the usage error of an unknown command in args, nil when
// the command exists.
func usageOf(root *cobra.Command, args []string) error {
	// cobra adds its own commands (help, completion, and __complete, which
	// the shell completion scripts call) only when executing: add the first
	// two now, and let the completion requests through.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd(args...)
	if len(args) > 0 && (args[0] == cobra.ShellCompRequestCmd || args[0] == cobra.ShellCompNoDescRequestCmd) {
		return nil
	}
	c, _, err := root.Find(args)
	if err == nil {
		return nil
	}
	path := root.CommandPath()
	if c != nil {
		path = c.CommandPath()
	}
	return usageError{err: err, path: path}
}
