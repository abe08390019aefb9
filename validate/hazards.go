package validate

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tcptune/tcptune/profiles"
)

// Listener is one listening socket, for the port-range hazards. The CLI
// fills the list from doctor's inet_diag reader; validate never reads
// sockets itself.
type Listener struct {
	Addr    string // "0.0.0.0:20000"
	Port    int
	Process string // "" when unknown
	PID     int
	Inode   uint32 // the socket's inode, for Kernel.Owners
}

func (l Listener) String() string {
	if l.Process != "" {
		return fmt.Sprintf("%s[%d] on %s", l.Process, l.PID, l.Addr)
	}
	return "a listener on " + l.Addr
}

// nodePortLo and nodePortHi are Kubernetes' default NodePort range
// (kube-apiserver --service-node-port-range).
const (
	nodePortLo = 30000
	nodePortHi = 32767
	// kubeletPort is the kubelet's API port: a listener there (or one
	// whose owner is known to be kubelet) means kubelet runs. Owners are
	// not looked up for this, so the check costs no walk of /proc.
	kubeletPort = 10250
)

// maxNamedListeners bounds the listeners named in one warning.
const maxNamedListeners = 5

// hazards runs the checks that need facts about this machine beyond the
// sysctl tree (--kernel, diff and apply): the new port range against live
// listeners and Kubernetes' NodePorts, and tuned setting the same keys.
// They only ever warn.
func (c *checker) hazards() {
	c.portHazards()
	c.tunedConflicts()
}

// portHazards: an outgoing connection takes its source port from
// ip_local_port_range, skipping ip_local_reserved_ports. A port a service
// listens on is safe while it listens, but free for the taking the moment
// the service restarts; then bind() fails with EADDRINUSE. So a new range
// that covers a listener, or the NodePort range on a node running kubelet,
// should come with those ports reserved.
func (c *checker) portHazards() {
	s, in := c.r.Setting(KeyPortRange)
	if !in || c.k.Listeners == nil {
		return
	}
	ns, err := s.Value.Ints()
	if err != nil || len(ns) != 2 || ns[0] > ns[1] {
		return
	}
	lo, hi := int(ns[0]), int(ns[1])
	ls, err := c.k.Listeners()
	if err != nil {
		c.add(SevWarning, s, s.ValuePos, "", "could not list the listeners to check the new port range against: %v", err)
		return
	}
	rs, _, ok := c.effectivePorts()
	if !ok {
		return
	}
	merged := mergePorts(rs)
	reserved := func(p int) bool {
		for _, r := range merged {
			if p >= r.Lo && p <= r.Hi {
				return true
			}
		}
		return false
	}
	var hit []Listener
	seen := map[int]bool{}
	kubelet := false
	for _, l := range ls {
		if l.Process == "kubelet" || l.Port == kubeletPort {
			kubelet = true
		}
		if l.Port >= lo && l.Port <= hi && !reserved(l.Port) && !seen[l.Port] {
			seen[l.Port] = true
			hit = append(hit, l)
		}
	}
	sort.Slice(hit, func(i, j int) bool { return hit[i].Port < hit[j].Port })
	// Owners cost a walk of every process's fds: only for what is named.
	if len(hit) > 0 && c.k.Owners != nil {
		c.k.Owners(hit)
	}
	add := rs
	if len(hit) > 0 {
		var names []string
		for i, l := range hit {
			if i == maxNamedListeners {
				names = append(names, fmt.Sprintf("and %d more", len(hit)-i))
				break
			}
			names = append(names, fmt.Sprintf("port %d (%s)", l.Port, l))
			add = append(add, portRange{l.Port, l.Port})
		}
		for _, l := range hit[min(len(hit), maxNamedListeners):] {
			add = append(add, portRange{l.Port, l.Port})
		}
		c.add(SevWarning, s, s.ValuePos, reservedHint(add),
			"the new ip_local_port_range %d-%d covers %s, not in ip_local_reserved_ports: an outgoing connection can take the port while the service restarts, and its bind() then fails",
			lo, hi, strings.Join(names, ", "))
	}
	if kubelet && overlap(rs, max(lo, nodePortLo), min(hi, nodePortHi)) < max(0, min(hi, nodePortHi)-max(lo, nodePortLo)+1) {
		c.add(SevWarning, s, s.ValuePos, reservedHint(append(add, portRange{nodePortLo, nodePortHi})),
			"kubelet runs here and the new ip_local_port_range %d-%d covers Kubernetes' NodePort range %d-%d, which ip_local_reserved_ports does not protect: outgoing connections can take ports that services of type NodePort need",
			lo, hi, nodePortLo, nodePortHi)
	}
}

// reservedHint is the ip_local_reserved_ports line that protects rs (the
// reserved ports already in effect plus the ones found).
func reservedHint(rs []portRange) string {
	return fmt.Sprintf("reserve them: add to the profile  %s: %q  (or keep them out of the range)", keyReserved, canonicalPorts(rs))
}

// tunedConflicts warns for every key that the active tuned profile's
// [sysctl] section also sets.
func (c *checker) tunedConflicts() {
	t := c.k.Tuned
	if t == nil || !t.Active() {
		return
	}
	for _, s := range c.r.Settings {
		a, ok := t.Sets(s.Key)
		if !ok {
			continue
		}
		c.add(SevWarning, s, s.Pos, t.Hint(),
			"tuned profile %q also sets it (%s = %s at %s:%d); %s", t.Profile, s.Key, a.Value, a.File, a.Line, t.Precedence())
	}
}

// TunedConflicts is the tuned check on its own, for doctor: the keys of the
// active tuned profile's [sysctl] section that r also sets.
func TunedConflicts(r *profiles.Resolved, t *Tuned) []Diagnostic {
	c := &checker{r: r, k: &Kernel{Tuned: t}}
	c.tunedConflicts()
	sortDiagnostics(c.ds)
	return c.ds
}

// Hazards runs only the machine checks (port range against listeners and
// NodePorts, tuned) for commands that validate without --kernel but know
// the machine: diff.
func Hazards(r *profiles.Resolved, k *Kernel) []Diagnostic {
	if r == nil || k == nil {
		return nil
	}
	c := &checker{r: r, k: k}
	c.hazards()
	sortDiagnostics(c.ds)
	return c.ds
}

// Shadows returns the warnings for profiles of r that shadow another of the
// same name, for commands that load profiles without validating them (show).
func Shadows(r *profiles.Resolved) []Diagnostic {
	if r == nil {
		return nil
	}
	c := &checker{r: r}
	c.shadows()
	return c.ds
}
