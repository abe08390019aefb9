// Package systemd connects tcptune to systemd through go-systemd:
//
//   - audit records: one structured journal entry per changed key
//     (TCPTUNE_ACTION, TCPTUNE_KEY, TCPTUNE_BEFORE, ...), plus the same
//     record appended to a JSON-lines file in the state directory, so the
//     trail survives on hosts without journald and `tcptune status` can show
//     it;
//   - sd_notify for the long-running reconcile mode (READY, STATUS,
//     WATCHDOG, STOPPING);
//   - unit files for the boot-time apply/verify and the reconcile service,
//     written with go-systemd's unit package, and their installation.
//
// The package is a leaf: it takes plain structs and strings and imports
// nothing else of tcptune, so apply, reconcile and the CLI can all feed it.
package systemd
