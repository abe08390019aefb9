package validate

import (
	"testing"
)

func TestValidateValues(t *testing.T) {
	const (
		somax   = "net.core.somaxconn"
		synr    = "net.ipv4.tcp_syn_retries"
		abort   = "net.ipv4.tcp_abort_on_overflow"
		rmem    = "net.ipv4.tcp_rmem"
		cookies = "net.ipv4.tcp_syncookies"
		fin     = "net.ipv4.tcp_fin_timeout"
		cc      = "net.ipv4.tcp_congestion_control"
		res     = "net.ipv4.ip_local_reserved_ports"
		mem     = "net.ipv4.tcp_mem"
	)
	tests := []struct {
		name     string
		lines    []string
		want     []brief
		contains []string
	}{
		{"valid int", []string{somax + ": 1024"}, nil, nil},
		{"not an integer", []string{somax + ": abc"},
			[]brief{valAt(SevError, somax, 1)}, []string{`"abc" is not an integer`, "0..2147483647 (connections)"}},
		{"two integers for one", []string{somax + ": 1 2"},
			[]brief{valAt(SevError, somax, 1)}, []string{"takes 1 integer, got 2"}},
		{"below kernel minimum", []string{synr + ": 0"},
			[]brief{valAt(SevError, synr, 1)}, []string{"below the kernel's minimum 1", "1..127"}},
		{"above kernel maximum", []string{synr + ": 128"},
			[]brief{valAt(SevError, synr, 1)}, []string{"above the kernel's maximum 127"}},
		{"bool not 0/1", []string{abort + ": 2"},
			[]brief{valAt(SevError, abort, 1)}, []string{"takes 0 or 1, got 2"}},
		{"vector field count", []string{rmem + ": 4096 131072"},
			[]brief{valAt(SevError, rmem, 1)}, []string{"takes 3 integers, got 2", "(min default max)"}},
		{"vector field not integer", []string{rmem + ": 4096 x 6291456"},
			[]brief{valAt(SevError, rmem, 1)}, []string{"field 2"}},
		{"vector field below minimum", []string{rmem + ": 0 131072 6291456"},
			[]brief{valAt(SevError, rmem, 1)}, []string{"field 1 (min) 0 is below the kernel's minimum 1"}},
		{"undocumented enum value", []string{cookies + ": 3"},
			[]brief{valAt(SevWarning, cookies, 1)}, []string{"not a documented value", "0, 1, 2"}},
		{"negative timeout", []string{fin + ": -1"},
			[]brief{valAt(SevWarning, fin, 1)}, []string{"makes no sense"}},
		{"timeout above INT_MAX/HZ", []string{fin + ": 2147484"},
			[]brief{valAt(SevError, fin, 1)}, []string{"maximum 2147483"}},
		{"tcp_mem pages", []string{mem + ": 190000 250000 380000"}, nil, nil},
		{"congestion control name", []string{cc + ": bbr"}, nil, nil},
		{"congestion control two words", []string{cc + `: "bbr cubic"`},
			[]brief{valAt(SevError, cc, 1)}, []string{"takes one name"}},
		{"reserved ports canonical", []string{res + ": 8080,9000-9100"}, nil, nil},
		{"reserved ports out of order", []string{res + ": 9000-9100,8080"},
			[]brief{valAt(SevWarning, res, 1)}, []string{`"8080,9000-9100"`}},
		{"reserved ports bad port", []string{res + ": 8080,70000"},
			[]brief{valAt(SevError, res, 1)}, []string{"port 70000 is outside 0..65535"}},
		{"reserved ports as a list", []string{res + ": [8080, 9090]"},
			[]brief{valAt(SevError, res, 1)}, []string{"commas only"}},
		{"removed key", []string{"net.ipv4.tcp_tw_recycle: 1"},
			[]brief{keyAt(SevError, "net.ipv4.tcp_tw_recycle", 1)}, []string{"removed from the kernel in Linux 4.12", "tcp_tw_reuse"}},
		{"unknown key with suggestion", []string{"net.ipv4.tcp_tw_reuze: 1"},
			[]brief{keyAt(SevWarning, "net.ipv4.tcp_tw_reuze", 1)}, []string{"not in tcptune's catalog", "did you mean net.ipv4.tcp_tw_reuse?"}},
		{"key outside the policy", []string{"vm.zzzzzzzzzzzz: 1"},
			[]brief{keyAt(SevError, "vm.zzzzzzzzzzzz", 1)}, []string{"tcptune writes only net.*", "allow: [vm.zzzzzzzzzzzz]"}},
		{"diagnostics sorted by position", []string{synr + ": 0", "net.ipv4.tcp_tw_reuze: 1", somax + ": abc"},
			[]brief{valAt(SevError, synr, 1), keyAt(SevWarning, "net.ipv4.tcp_tw_reuze", 2), valAt(SevError, somax, 3)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := Validate(resolve(t, profile(tt.lines...)), nil)
			if tt.want == nil {
				tt.want = []brief{}
			}
			check(t, ds, tt.want, tt.contains...)
		})
	}
}

func TestValidateRules(t *testing.T) {
	const (
		pr      = "net.ipv4.ip_local_port_range"
		res     = "net.ipv4.ip_local_reserved_ports"
		start   = "net.ipv4.ip_unprivileged_port_start"
		rmem    = "net.ipv4.tcp_rmem"
		wmem    = "net.ipv4.tcp_wmem"
		abort   = "net.ipv4.tcp_abort_on_overflow"
		backlog = "net.ipv4.tcp_max_syn_backlog"
		cookies = "net.ipv4.tcp_syncookies"
	)
	tests := []struct {
		name     string
		lines    []string
		want     []brief
		contains []string
	}{
		{"buffers in order", []string{rmem + ": 4096 131072 16777216", wmem + ": 4096 16384 16777216"}, nil, nil},
		{"rmem out of order", []string{rmem + ": 10 5 1"},
			[]brief{valAt(SevError, rmem, 1)}, []string{"min 10, default 5 and max 1 are out of order"}},
		{"wmem default above max", []string{wmem + ": 4096 65536 16384"},
			[]brief{valAt(SevError, wmem, 1)}, []string{"out of order"}},
		{"good port range", []string{pr + ": 10240 65535"}, nil, nil},
		{"high below low", []string{pr + ": 2000 1001"},
			[]brief{valAt(SevError, pr, 1)}, []string{"high end 1001 is below low end 2000"}},
		{"same parity", []string{pr + ": 10000 60000"},
			[]brief{valAt(SevWarning, pr, 1)}, []string{"same parity", "use 10000 60001"}},
		{"below default unprivileged start", []string{pr + ": 1001 60000"},
			[]brief{valAt(SevError, pr, 1)}, []string{"below ip_unprivileged_port_start 1024 (kernel default)"}},
		{"unprivileged start lowered in the same profile", []string{pr + ": 1001 60000", start + ": 1000"}, nil, nil},
		{"unprivileged start from the profile", []string{pr + ": 2001 60000", start + ": 3000"},
			[]brief{valAt(SevError, pr, 1)}, []string{"(set by profile p)"}},
		{"unprivileged start above default range", []string{start + ": 40000"},
			[]brief{valAt(SevError, start, 1)}, []string{"40000 is above the low end 32768", "(kernel default)"}},
		{"reserved ports inside the range", []string{pr + ": 32768 60999", res + ": 70,40000-40009"},
			[]brief{valAt(SevWarning, pr, 1)}, []string{"10 of the 28232 ports in 32768-60999 are reserved", "leaving 28222"}},
		{"reserved ports alone, inside the default range", []string{res + ": 50000"},
			[]brief{valAt(SevWarning, res, 1)}, []string{"1 of the 28232 ports"}},
		{"reserved ports outside the range", []string{pr + ": 32768 60999", res + ": 8080"}, nil, nil},
		{"abort on overflow", []string{abort + ": 1"},
			[]brief{valAt(SevWarning, abort, 1)}, []string{`"connection reset by peer"`}},
		{"abort off", []string{abort + ": 0"}, nil, nil},
		{"syn backlog with default syncookies", []string{backlog + ": 4096"},
			[]brief{keyAt(SevNote, backlog, 1)}, []string{"only matters with tcp_syncookies = 0", "(kernel default)"}},
		{"syn backlog with syncookies off", []string{backlog + ": 4096", cookies + ": 0"}, nil, nil},
		{"syn backlog with syncookies always", []string{backlog + ": 4096", cookies + ": 2"},
			[]brief{keyAt(SevNote, backlog, 1)}, []string{"tcp_syncookies is 2 (set by profile p)"}},
		{"broken value does not feed a rule", []string{pr + ": a b"},
			[]brief{valAt(SevError, pr, 1)}, []string{"not an integer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := Validate(resolve(t, profile(tt.lines...)), nil)
			if tt.want == nil {
				tt.want = []brief{}
			}
			check(t, ds, tt.want, tt.contains...)
		})
	}
}

func TestValidateNil(t *testing.T) {
	if ds := Validate(nil, nil); ds != nil {
		t.Errorf("Validate(nil) = %v", ds)
	}
}
