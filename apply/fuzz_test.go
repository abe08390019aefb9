package apply

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/tcptune/tcptune/sysctl"
	"github.com/tcptune/tcptune/validate"
)

// FuzzParseRecord: whatever bytes a record file holds (a dying disk, a
// power loss, an attacker), decoding never panics, and a record it accepts
// carries only keys the write policy allows, single-line values, and an id
// and seq that agree - so nothing rollback writes from it can leave the
// policy. An accepted record encodes and decodes to itself.
func FuzzParseRecord(f *testing.F) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	good := &Record{Format: recordFormat, ID: txIDFor(7, now), Seq: 7, State: TxApplying, Profiles: []string{"p"}, Started: now,
		Originals: []Original{{Key: sysctl.MustKey("net.core.somaxconn"), Value: "4096", Target: "65535"}},
		Persist:   &FileSnapshot{Path: "/etc/sysctl.d/90-tcptune.conf", Exists: true, Content: []byte("x = 1\n"), Mode: 0o644, Changed: true}}
	b, _ := encodeRecord(good)
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Add([]byte{})
	f.Add([]byte(`{"format":2,"id":"000001-20250102T030405Z","seq":1,"state":"applying","originals":[{"key":"kernel.core_pattern","value":"|/x","target":"core"}]}`))
	f.Add([]byte(`{"format":2,"id":"000001-20250102T030405Z","seq":9223372036854775807,"state":"applying"}`))
	f.Add([]byte(`{"format":1,"id":"000001-20250102T030405Z","seq":1,"state":"rolled-back","originals":[]}`))
	f.Add([]byte(`{"format":2,"id":"000001-20250102T030405Z","seq":1,"state":"applying","persist":{"path":"../../etc/shadow"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := parseRecord("fuzz", data)
		if err != nil {
			return
		}
		if !validTxID(r.ID) || seqOf(r.ID) != r.Seq || r.State.rank() == 0 {
			t.Fatalf("accepted id %q seq %d state %q", r.ID, r.Seq, r.State)
		}
		for _, o := range r.Originals {
			if err := validate.KeyAllowed(o.Key); err != nil {
				t.Fatalf("accepted a key outside the policy: %v", err)
			}
			if checkLine(o.Key, o.Value) != nil || checkLine(o.Key, o.Target) != nil {
				t.Fatalf("accepted %s = %q / %q", o.Key, o.Value, o.Target)
			}
		}
		again, err := encodeRecord(r)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := parseRecord("fuzz", again)
		if err != nil {
			t.Fatalf("re-encoded record refused: %v\n%s", err, again)
		}
		a, _ := json.Marshal(r)
		b, _ := json.Marshal(r2)
		if string(a) != string(b) {
			t.Fatalf("round trip changed the record:\n%s\n%s", a, b)
		}
	})
}
