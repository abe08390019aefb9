package doctor

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// A kernel without inet_diag answers ENOENT: for IPv4 that is "could not
// tell" (an error), never "no listeners"; for IPv6 it means no IPv6 in the
// kernel, so no IPv6 listener, and the IPv4 ones are the answer.
func TestReadListenersENOENT(t *testing.T) {
	v4 := []Listener{{Family: "ipv4", Address: "0.0.0.0", Port: 80}}
	for _, tc := range []struct {
		name            string
		unspec, v4, v6  error
		wantErr         bool
		wantPort        uint16
		wantPerFamilies bool
	}{
		{name: "one request for both families", wantPort: 80},
		{name: "no inet_diag (compat request)", unspec: unix.ENOENT, wantErr: true},
		{name: "compat refused, no IPv6", unspec: unix.EOPNOTSUPP, v6: unix.ENOENT, wantPort: 80, wantPerFamilies: true},
		{name: "compat refused, no inet_diag", unspec: unix.EINVAL, v4: unix.ENOENT, v6: unix.ENOENT, wantErr: true, wantPerFamilies: true},
		{name: "compat refused, no IPv4 handler", unspec: unix.EOPNOTSUPP, v4: unix.ENOENT, wantErr: true, wantPerFamilies: true},
	} {
		var asked []uint8
		listenerDump = func(fam uint8) ([]Listener, error) {
			asked = append(asked, fam)
			switch fam {
			case unix.AF_UNSPEC:
				if tc.unspec != nil {
					return nil, tc.unspec
				}
				return v4, nil
			case unix.AF_INET:
				if tc.v4 != nil {
					return nil, tc.v4
				}
				return v4, nil
			}
			return nil, tc.v6
		}
		ls, err := readListeners()
		if perFamily := len(asked) > 1; perFamily != tc.wantPerFamilies || asked[0] != unix.AF_UNSPEC {
			t.Errorf("%s: asked for families %v; want AF_UNSPEC first, per family only after it was refused: %v", tc.name, asked, tc.wantPerFamilies)
		}
		if tc.wantErr {
			if err == nil || !errors.Is(err, unix.ENOENT) {
				t.Errorf("%s: %v, %v; want an error wrapping ENOENT", tc.name, ls, err)
			}
			continue
		}
		if err != nil || len(ls) != 1 || ls[0].Port != tc.wantPort {
			t.Errorf("%s: %v, %v; want the IPv4 listener", tc.name, ls, err)
		}
	}
	listenerDump = dumpListeners
}
