// Package reconcile is tcptune's long-running operator: every interval it
// compares live values with the resolved profile and, in enforce mode,
// re-applies drifted keys through apply's transaction; in report mode it
// only records them. Drift goes to the journal and audit file (package
// systemd), to StateDir/reconcile.json (shown by `tcptune status`), to
// sd_notify's STATUS= and, optionally, to a Prometheus textfile.
//
// Stopping (ctx cancelled: SIGTERM, SIGINT, SIGHUP, SIGQUIT) never rolls the profile back:
// tuned's rollback-on-exit turns a service restart into an outage, and the
// values were right.
package reconcile

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tcptune/tcptune/apply"
	"github.com/tcptune/tcptune/netns"
	"github.com/tcptune/tcptune/profiles"
	"github.com/tcptune/tcptune/systemd"
)

// Origin is what reconcile's corrections record as their apply.Options
// Origin, so that a restarted reconcile recognises (and rolls back) a
// correction its killed predecessor left unfinished.
const Origin = "reconcile"

// ApplyFunc applies r through apply's transaction. The CLI passes
// apply.Apply with the same Options `tcptune apply` would use.
type ApplyFunc func(ctx context.Context, r *profiles.Resolved) (*apply.Result, error)

// Options configures Run.
type Options struct {
	Resolved *profiles.Resolved
	Mode     Mode
	Interval time.Duration
	// Reader reads live values (a *sysctl.FS); Netns makes host-wide keys
	// in a child namespace not count as drift.
	Reader apply.Reader
	Netns  netns.Kind
	// Apply is required in enforce mode.
	Apply ApplyFunc
	// ApplyTimeout bounds one correction; 0 means max(Interval, 30s).
	ApplyTimeout time.Duration

	Auditor  *systemd.Auditor  // nil: no audit
	Notifier *systemd.Notifier // nil: no sd_notify
	// StateFile is where State is written ("" : not written); Textfile the
	// Prometheus file ("" : none).
	StateFile string
	Textfile  string
	// Status, when set, adds the transaction metrics of `tcptune status -o
	// prometheus` (last apply time and result, crashed transactions, drift
	// of what was applied) to the textfile.
	Status func() (*apply.Status, error)
	Actor  string
	// Log receives one line per event (stderr: journald under systemd).
	Log io.Writer
	Now func() time.Time
}

// loop is one Run's working state.
type loop struct {
	o     Options
	st    State
	since map[string]DriftedKey // key -> first seen with this live value
}

// Run checks at once, sends READY=1, then checks every Interval until ctx
// is done. It returns nil on a clean stop; errors of one check are counted,
// logged and reported, never fatal, because a long-running operator that
// dies on a transient EBUSY protects nothing.
func Run(ctx context.Context, o Options) error {
	if o.Resolved == nil || o.Reader == nil {
		return fmt.Errorf("reconcile: no profile or sysctl reader")
	}
	if o.Interval <= 0 {
		return fmt.Errorf("reconcile: interval %v must be positive", o.Interval)
	}
	if o.Mode == ModeEnforce && o.Apply == nil {
		return fmt.Errorf("reconcile: enforce mode needs an apply function")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Notifier == nil {
		o.Notifier = &systemd.Notifier{}
	}
	l := &loop{o: o, since: map[string]DriftedKey{}}
	l.st = State{
		Profiles: o.Resolved.Profiles, Mode: o.Mode, Interval: o.Interval.String(),
		PID: os.Getpid(), Started: o.Now(), Running: true, Drifted: []DriftedKey{},
		LastCorrections: []Correction{},
	}

	status := l.check(ctx)
	if err := o.Notifier.Ready(status); err != nil {
		l.logf("sd_notify READY: %v", err)
	}
	tick := time.NewTicker(o.Interval)
	defer tick.Stop()
	var wd <-chan time.Time
	if iv := o.Notifier.WatchdogInterval(); iv > 0 {
		t := time.NewTicker(iv)
		defer t.Stop()
		wd = t.C
	}
	for {
		select {
		case <-ctx.Done():
			now := o.Now()
			l.st.Running, l.st.Stopped = false, &now
			l.publish()
			msg := fmt.Sprintf("stopping; %s; profile left applied", l.summary())
			l.logf("%s", msg)
			if err := o.Notifier.Stopping(msg); err != nil {
				l.logf("sd_notify STOPPING: %v", err)
			}
			return nil
		case <-tick.C:
			if err := o.Notifier.Status(l.check(ctx)); err != nil {
				l.logf("sd_notify STATUS: %v", err)
			}
		case <-wd:
			// Pinged from the loop itself: a check that hangs stops the
			// pings and systemd restarts the service.
			if err := o.Notifier.Watchdog(); err != nil {
				l.logf("sd_notify WATCHDOG: %v", err)
			}
		}
	}
}

// check runs one pass and returns the STATUS= line.
func (l *loop) check(ctx context.Context) string {
	defer l.publish()
	now := l.o.Now()
	l.st.Checks++
	l.st.LastCheck = &now
	drift, err := l.drift()
	if err != nil {
		return l.fail("check", err)
	}
	l.noteDrift(drift, now)
	if len(drift) == 0 || l.o.Mode == ModeReport {
		l.setDrifted(drift)
		return l.summary()
	}

	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.applyTimeout())
	res, err := l.o.Apply(actx, l.o.Resolved)
	cancel()
	if err != nil {
		l.setDrifted(drift)
		return l.fail("correct", err)
	}
	fixed := l.recordCorrections(res, now)
	after, err := l.drift()
	if err != nil {
		return l.fail("re-check", err)
	}
	l.setDrifted(after)
	l.st.LastError = ""
	s := fmt.Sprintf("corrected %d drifted key(s) (%s); %s", len(fixed), strings.Join(fixed, ", "), l.summary())
	l.logf("%s", s)
	return s
}

func (l *loop) applyTimeout() time.Duration {
	if l.o.ApplyTimeout > 0 {
		return l.o.ApplyTimeout
	}
	return max(l.o.Interval, 30*time.Second)
}

// drift plans the profile against live values: the keys apply would set.
func (l *loop) drift() ([]apply.Change, error) {
	p, err := apply.NewPlan(l.o.Resolved, l.o.Reader, l.o.Netns)
	if err != nil {
		return nil, err
	}
	return p.ToSet(), nil
}

// noteDrift audits keys newly drifted (or drifted to a new live value), so
// a key fought over for a week makes one record per change, not one per
// interval.
func (l *loop) noteDrift(drift []apply.Change, now time.Time) {
	var recs []systemd.Record
	seen := map[string]bool{}
	for _, c := range drift {
		k := c.Key.String()
		seen[k] = true
		if d, ok := l.since[k]; ok && d.Live == string(c.Before) {
			continue
		}
		l.since[k] = DriftedKey{Key: k, Profile: c.Profile, Desired: string(c.After), Live: string(c.Before), Since: now}
		l.st.DriftDetections++
		l.logf("drift: %s is %q, profile %s wants %q", k, c.Before, c.Profile, c.After)
		recs = append(recs, systemd.Record{
			Time: now, Action: systemd.ActionDrift, Profile: c.Profile, Key: k,
			Before: string(c.After), After: string(c.Before), Actor: l.o.Actor,
			Note: "live value differs from the profile (" + string(l.o.Mode) + " mode)",
		})
	}
	for k := range l.since {
		if !seen[k] {
			delete(l.since, k)
		}
	}
	l.audit(recs)
}

func (l *loop) setDrifted(drift []apply.Change) {
	l.st.Drifted = make([]DriftedKey, 0, len(drift))
	for _, c := range drift {
		d, ok := l.since[c.Key.String()]
		if !ok {
			d = DriftedKey{Key: c.Key.String(), Profile: c.Profile, Since: l.o.Now()}
		}
		d.Desired, d.Live = string(c.After), string(c.Before)
		l.st.Drifted = append(l.st.Drifted, d)
	}
}

// recordCorrections audits each key the transaction set.
func (l *loop) recordCorrections(res *apply.Result, now time.Time) []string {
	var recs []systemd.Record
	var keys []string
	for _, s := range res.Settings {
		if s.Action != apply.ActionSet {
			continue
		}
		k := s.Key.String()
		keys = append(keys, k)
		prof := ""
		if set, ok := l.o.Resolved.Setting(s.Key); ok {
			prof = set.Profile
		}
		recs = append(recs, systemd.Record{
			Time: now, Action: systemd.ActionReconcile, Transaction: res.Transaction, Profile: prof,
			Key: k, Before: string(s.Before), After: string(s.After), Actor: l.o.Actor,
		})
		l.st.Corrections++
		l.st.LastCorrections = append(l.st.LastCorrections, Correction{
			Time: now, Transaction: res.Transaction, Key: k, Before: string(s.Before), After: string(s.After),
		})
		delete(l.since, k)
	}
	if n := len(l.st.LastCorrections); n > maxKeptCorrections {
		l.st.LastCorrections = l.st.LastCorrections[n-maxKeptCorrections:]
	}
	l.audit(recs)
	return keys
}

func (l *loop) fail(what string, err error) string {
	l.st.Errors++
	l.st.LastError = fmt.Sprintf("%s: %v", what, err)
	l.logf("error: %s", l.st.LastError)
	return fmt.Sprintf("%s failed: %v; %s", what, err, l.summary())
}

// summary is the steady part of STATUS=.
func (l *loop) summary() string {
	var drift string
	if n := len(l.st.Drifted); n == 0 {
		drift = "in sync"
	} else {
		keys := make([]string, n)
		for i, d := range l.st.Drifted {
			keys[i] = d.Key
		}
		drift = fmt.Sprintf("%d key(s) drifted: %s", n, strings.Join(keys, ", "))
	}
	return fmt.Sprintf("%s: %s; %d correction(s), %d check(s)", l.o.Mode, drift, l.st.Corrections, l.st.Checks)
}

func (l *loop) audit(recs []systemd.Record) {
	if err := l.o.Auditor.Record(recs...); err != nil {
		l.logf("audit: %v", err)
	}
}

// publish writes the state file and the textfile; failures are logged, not
// fatal.
func (l *loop) publish() {
	if l.o.StateFile != "" {
		if err := WriteState(l.o.StateFile, &l.st); err != nil {
			l.logf("%v", err)
		}
	}
	if l.o.Textfile != "" {
		body := Metrics(&l.st)
		if l.o.Status != nil {
			if st, err := l.o.Status(); err != nil {
				l.logf("textfile without transaction metrics: %v", err)
			} else {
				body = AuditMetrics(st, &l.st)
			}
		}
		if err := WriteTextfile(l.o.Textfile, body); err != nil {
			l.logf("%v", err)
		}
	}
}

func (l *loop) logf(format string, args ...any) {
	fmt.Fprintf(l.o.Log, "tcptune reconcile: "+format+"\n", args...)
}
