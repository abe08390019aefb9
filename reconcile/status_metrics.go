package reconcile

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/tcptune/tcptune/apply"
)

// StatusMetrics renders what `tcptune status` knows (apply.Status) in the
// Prometheus text format, next to Metrics in this file's package so that
// `status -o prometheus` and `reconcile --textfile` share one renderer and
// one label escaping. Every name starts with tcptune_; a family with
// nothing to say (no transaction yet) is left out rather than reported as 0,
// because "never applied" is not "applied at the epoch".
func StatusMetrics(st *apply.Status) []byte {
	var b bytes.Buffer
	metric := func(name, typ, help string) { writeHeader(&b, name, typ, help) }
	bit := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}

	metric("tcptune_drift", "gauge", "1 when a key tcptune applied or persisted differs from its live value.")
	fmt.Fprintf(&b, "tcptune_drift %d\n", bit(st.Drift))

	metric("tcptune_key_drift", "gauge", "Per key: 1 when the live value differs from what tcptune set (source applied) or persisted (source persisted), or cannot be read.")
	for _, k := range st.Applied {
		fmt.Fprintf(&b, "tcptune_key_drift{key=\"%s\",source=\"applied\",transaction=\"%s\"} %d\n",
			escapeLabel(k.Key.String()), escapeLabel(k.Transaction), bit(k.Drift))
	}
	if p := st.Persisted; p != nil {
		for _, k := range p.Keys {
			fmt.Fprintf(&b, "tcptune_key_drift{key=\"%s\",source=\"persisted\",transaction=\"\"} %d\n",
				escapeLabel(k.Key.String()), bit(k.Drift))
		}
	}

	metric("tcptune_crashed_transactions", "gauge", "Transactions left half-done by a crash (or an incomplete restore); 'tcptune rollback' settles them.")
	fmt.Fprintf(&b, "tcptune_crashed_transactions %d\n", len(st.Crashed))
	metric("tcptune_corrupt_records", "gauge", "Transaction records that cannot be read or fail validation; nothing is written from them ('tcptune rollback --baseline' or '--resolve').")
	fmt.Fprintf(&b, "tcptune_corrupt_records %d\n", len(st.Corrupt))
	metric("tcptune_transaction_in_progress", "gauge", "1 while an apply or rollback holds the lock.")
	fmt.Fprintf(&b, "tcptune_transaction_in_progress %d\n", bit(st.InProgress))

	if p := st.Persisted; p != nil {
		metric("tcptune_persisted_file_owned", "gauge", "1 when the persisted sysctl.d file exists and was written by tcptune.")
		fmt.Fprintf(&b, "tcptune_persisted_file_owned{file=\"%s\"} %d\n", escapeLabel(p.File), bit(p.Exists && p.Owned))
	}

	if len(st.Transactions) > 0 {
		last := st.Transactions[0] // newest first
		when := last.Started
		if last.Finished != nil {
			when = *last.Finished
		}
		metric("tcptune_last_transaction_info", "gauge", "The newest transaction: its id, state and profiles; always 1.")
		fmt.Fprintf(&b, "tcptune_last_transaction_info{id=\"%s\",state=\"%s\",profiles=\"%s\"} 1\n",
			escapeLabel(last.ID), escapeLabel(string(last.State)), escapeLabel(strings.Join(last.Profiles, ",")))
		metric("tcptune_last_transaction_timestamp_seconds", "gauge", "Unix time the newest transaction finished (started, while unfinished).")
		fmt.Fprintf(&b, "tcptune_last_transaction_timestamp_seconds %s\n", unixSeconds(when))
		metric("tcptune_last_transaction_success", "gauge", "1 when the newest transaction applied every key (state applied, or later rolled-back); 0 when it failed, crashed or was resolved.")
		fmt.Fprintf(&b, "tcptune_last_transaction_success %d\n", bit(last.State == apply.TxApplied || last.State == apply.TxRolledBack))
	}
	return b.Bytes()
}

// AuditMetrics is StatusMetrics followed by the reconcile loop's Metrics
// when rs is not nil: the whole of `tcptune status -o prometheus`.
func AuditMetrics(st *apply.Status, rs *State) []byte {
	out := StatusMetrics(st)
	if rs != nil {
		out = append(out, Metrics(rs)...)
	}
	return out
}

func unixSeconds(t time.Time) string {
	return fmt.Sprintf("%.3f", float64(t.UnixMilli())/1000)
}
