// Package boottest proves tcptune's boot-time promises on a real boot: a
// minimal Debian root (debootstrap, cached outside the repository) is
// overlaid per container, booted with systemd-nspawn --private-network,
// tcptune's own .deb is installed with dpkg -i inside, and each scenario
// asserts on what the container's systemd and kernel did, across real
// reboots (poweroff, then a new boot of the same root).
//
// The tests run as root (`make boot-test`, and `make test` as root); without
// root, debootstrap or systemd-nspawn they say they are skipped, and with
// TCPTUNE_REQUIRE_NETNS=1 they fail instead. The host is never touched: the
// container has its own network namespace (only /proc/sys/net is writable
// there), nspawn runs in a private mount namespace with a tmpfs over /run,
// and only processes the test started are signalled, by PID.
package boottest
