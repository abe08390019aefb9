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
		name     string
		v4, v6   error
		wantErr  bool
		wantPort uint16
	}{
		{name: "no IPv6", v6: unix.ENOENT, wantPort: 80},
		{name: "no inet_diag", v4: unix.ENOENT, v6: unix.ENOENT, wantErr: true},
		{name: "no IPv4 handler", v4: unix.ENOENT, wantErr: true},
	} {
		listenerDump = func(fam uint8) ([]Listener, error) {
			if fam == unix.AF_INET {
				if tc.v4 != nil {
					return nil, tc.v4
				}
				return v4, nil
			}
			return nil, tc.v6
		}
		ls, err := readListeners()
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
