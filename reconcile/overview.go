package reconcile

import (
	"path/filepath"

	"github.com/tcptune/tcptune/apply"
	"github.com/tcptune/tcptune/systemd"
)

// Overview is what `tcptune status` reports, in its stable JSON shape:
// apply's status (transactions, what is applied, drift, the persisted file,
// crashes), the reconcile loop's state (nil when none ran in the state
// directory) and the last audit records.
type Overview struct {
	*apply.Status
	Reconcile *State           `json:"reconcile"`
	Audit     []systemd.Record `json:"audit"`
	// AuditSkipped counts audit lines that could not be read (a write cut
	// by a crash).
	AuditSkipped int `json:"-"`
}

// LoadOverview gathers the status of o's state directory. auditLast is how
// many audit records to include (0: none, the audit file is not read). It
// writes nothing.
func LoadOverview(o apply.Options, auditLast int) (*Overview, error) {
	st, err := apply.LoadStatus(o)
	if err != nil {
		return nil, err
	}
	dir := o.StateDir
	if dir == "" {
		dir = apply.DefaultStateDir
	}
	rs, err := LoadState(dir)
	if err != nil {
		return nil, err
	}
	v := &Overview{Status: st, Reconcile: rs, Audit: []systemd.Record{}}
	if auditLast > 0 {
		recs, skipped, err := systemd.ReadAudit(filepath.Join(dir, systemd.AuditFileName), systemd.AuditFilter{Last: auditLast})
		if err != nil {
			return nil, err
		}
		if recs != nil {
			v.Audit = recs
		}
		v.AuditSkipped = skipped
	}
	return v, nil
}

// Attention reports whether status exits 2: drift, a crashed transaction
// waiting for rollback, or a corrupt record.
func (v *Overview) Attention() bool { return v.Drift || len(v.Crashed) > 0 || len(v.Corrupt) > 0 }

// Metrics renders the overview for node_exporter's textfile collector.
func (v *Overview) Metrics() []byte { return AuditMetrics(v.Status, v.Reconcile) }
