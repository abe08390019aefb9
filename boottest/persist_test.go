package boottest

import (
	"testing"
)

// applyOut is the part of `tcptune apply -o json` the scenarios read.
type applyOut struct {
	Changed     bool   `json:"changed"`
	Transaction string `json:"transaction"`
	Settings    []struct {
		Key    string `json:"key"`
		Before string `json:"before"`
		After  string `json:"after"`
		Action string `json:"action"`
	} `json:"settings"`
	Persisted *struct {
		File    string `json:"file"`
		Written bool   `json:"written"`
		Report  []struct {
			Key     string      `json:"key"`
			Value   string      `json:"value"`
			Systemd *assignment `json:"systemd"`
			Procps  *assignment `json:"procps"`
		} `json:"report"`
	} `json:"persisted"`
	Restart []struct {
		Addr    string `json:"addr"`
		Backlog int    `json:"backlog"`
	} `json:"restart"`
	RestartErr string `json:"restart_error"`
}

type assignment struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	File  string `json:"file"`
	Line  int    `json:"line"`
}

type statusOut struct {
	Transactions []struct {
		ID    string `json:"id"`
		State string `json:"state"`
	} `json:"transactions"`
	Persisted *struct {
		File   string `json:"file"`
		Exists bool   `json:"exists"`
	} `json:"persisted"`
	Crashed []struct {
		ID    string `json:"id"`
		State string `json:"state"`
	} `json:"crashed"`
	Drift bool `json:"drift"`
}

const persisted = "/etc/sysctl.d/90-tcptune.conf"

// TestPersistAcrossReboot: apply high-concurrency -> reboot -> the values
// are live (systemd-sysctl read the persisted file) and status is in sync;
// rollback -> reboot -> the old values, and the persisted file is gone.
func TestPersistAcrossReboot(t *testing.T) {
	m := boot(t, "persist")
	install(t, m, deb1)

	var res applyOut
	decode(t, must(t, m.Run("tcptune", "apply", "high-concurrency", "-o", "json")), &res)
	if !res.Changed || res.Persisted == nil || !res.Persisted.Written || res.Persisted.File != persisted {
		t.Fatalf("apply did not change and persist: %+v", res)
	}
	after, before := map[string]string{}, map[string]string{}
	set := 0
	for _, s := range res.Settings {
		switch s.Action {
		case "host-wide":
			continue // the container's namespace cannot set it: never written, never persisted
		case "set":
			set++
		}
		after[s.Key], before[s.Key] = s.After, s.Before
	}
	if set < 4 {
		t.Fatalf("only %d keys set in the container: %+v", set, res.Settings)
	}

	reboot(t, m)
	verifyKeys(t, m, "after reboot", after)
	var st statusOut
	decode(t, mustCode(t, m.Run("tcptune", "status", "-o", "json"), 0), &st)
	if st.Drift || len(st.Crashed) != 0 || st.Persisted == nil || !st.Persisted.Exists {
		t.Errorf("status after reboot: %+v", st)
	}

	must(t, m.Run("tcptune", "rollback"))
	if exists(m, persisted) {
		t.Errorf("rollback left %s (it did not exist before the apply)", persisted)
	}
	reboot(t, m)
	verifyKeys(t, m, "after rollback and reboot", before)
	if exists(m, persisted) {
		t.Errorf("%s is back after reboot", persisted)
	}
}
