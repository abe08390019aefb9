package cli

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
)

// txSignals are the signals that end an interactive or service run: ^C,
// a service stop, the SSH session dropping (SIGHUP), ^\ (SIGQUIT, whose
// default would kill the process and dump goroutines). Apply turns them into
// a cancelled context, which rolls the transaction back; rollback and
// reconcile finish what they are doing first. None of them may kill a
// transaction between two writes.
var txSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// transactionContext returns a context cancelled by txSignals, and makes a
// closed stdout or stderr (tcptune apply P | head -1) an EPIPE error on the
// write instead of death by SIGPIPE: the transaction's outcome, not the
// reader's, decides the exit status. stop restores the default handlers of
// txSignals; SIGPIPE stays caught until the process exits.
func transactionContext(parent context.Context) (context.Context, context.CancelFunc) {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	return signal.NotifyContext(parent, txSignals...)
}

// outputErr drops a broken-pipe error of printing the result: whoever read
// the output went away, and the command's own result stands.
func outputErr(err error) error {
	if errors.Is(err, syscall.EPIPE) {
		return nil
	}
	return err
}
