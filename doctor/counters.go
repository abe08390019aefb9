package doctor

// Counters holds kernel counters by name. A counter the kernel did not print
// is absent from the map: never read a missing counter as zero.
type Counters map[string]uint64

// Get returns the counter and whether the kernel reported it.
func (c Counters) Get(name string) (uint64, bool) {
	v, ok := c[name]
	return v, ok
}

// delta returns after-before for name, and false when either reading lacks
// the counter or it went backwards (a counter reset, or a different
// namespace between the readings): "could not tell", not "no change".
func delta(before, after Counters, name string) (uint64, bool) {
	a, ok := after.Get(name)
	if !ok {
		return 0, false
	}
	if before == nil { // since-boot view: the counter itself is the delta
		return a, true
	}
	b, ok := before.Get(name)
	if !ok || a < b {
		return 0, false
	}
	return a - b, true
}
