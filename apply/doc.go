// Transactions (this file documents apply.go, rollback.go, persist.go,
// precedence.go and status.go; plan.go documents the Plan).
//
// Apply is tcptune's promise: a profile is applied whole or not at all, the
// old values are never lost, and what is persisted really wins at boot.
//
//	res, err := apply.Apply(ctx, resolved, apply.Options{FS: sysctl.NewFS(root)})
//
// Apply, in order:
//
//  1. Validates (validate.Validate with a validate.Kernel) and refuses a key
//     that is absent or read-only here, and any key or value that would not
//     survive as one line of a sysctl.d file. Host-wide keys seen from a
//     child network namespace are skipped (ActionHostWide), not failures.
//  2. Takes the lock (StateDir/lock, flock(2)): one apply, rollback or
//     persist at a time; a second waits up to Options.LockWait, then fails
//     with ErrLocked.
//  3. Refuses to start while a crashed transaction (one left "applying" by a
//     process that died) exists: ErrCrashed; Rollback or Resolve it first.
//     It knows from the status summary when that is current (this boot,
//     tx/'s mtime, no unfinished transaction: summary.go), else from the
//     directory listing.
//  4. Plans under the lock (so two applies never plan against each other's
//     half-written state) and computes the persisted file and its
//     precedence report; with StrictPersist an override by another file
//     fails here, before any write.
//  5. Adds the keys it touches for the first time to the baseline
//     (StateDir/tx/baseline.json; not read when a current summary says it
//     has them all and it is unchanged), marks the summary stale, then
//     records the transaction (profiles, the plan, every key's original,
//     the persisted file's previous content) in StateDir/tx/<id>.json and makes both durable (fsync of the
//     files and of the directory) before the first write. The record is
//     never rewritten: later states are marks <id>.<state> (txn.go).
//  6. Writes the keys in plan order (sorted by path), reads each back and
//     compares normalised values. A refused write, a value the kernel
//     clamps or rewrites, a cancelled ctx (a signal in the CLI) or any
//     other error restores every key already written, in reverse order,
//     verifies each restore, marks the transaction rolled back and returns
//     a *TxError naming the key and the kernel's error.
//  7. Persists (unless NoPersist) to PersistDir/90-tcptune.conf, replaced
//     atomically with renameio (temp file in the same directory, fsync,
//     rename, fsync the directory), mode 0644, never through a symlink.
//     The rename is the commit point: if the directory fsync after it
//     fails, the abort puts the old file back.
//  8. Marks the transaction applied (the mark <id>.applied, not fsync'd: if
//     a power loss loses it, the transaction looks crashed and rollback
//     restores the originals), notes the writes in writers.json, prunes old
//     records and updates the status summary, none of them synchronous.
//
// Those are all the fsyncs of an apply: the baseline's temp file when it
// grows, the record's temp file and tx/ (step 5), the persisted file's temp
// file and its directory (step 7). TestApplyFsyncsExactlyThePromise lists
// them from the real binary under strace.
//
// Rollback restores the originals of the last transaction still in effect
// (or of every transaction back to a named one), including one left behind
// by a crash, and puts the persisted file back as it was.
//
// RollbackBaseline restores the original of every key tcptune ever changed
// (the baseline survives pruning), the way out of a corrupt record.
//
// LoadStatus reports the recent transactions, what is applied, drift of
// live values from it, the persisted file against live values, any
// crashed transaction and any corrupt record. It takes no lock and writes
// nothing.
//
// The kernel is reached through KernelIO (Read/Write); *sysctl.FS implements
// it and tests wrap it to inject faults. Nothing in this package spells
// /proc/sys, /var/lib/tcptune or /etc/sysctl.d except as defaults.
package apply
