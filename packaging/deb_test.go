// Package packaging holds the .deb recipe (nfpm.yaml, build-deb.sh,
// maintainer scripts); the test builds the package and installs it into a
// temporary root with dpkg.
package packaging

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("TCPTUNE_REQUIRE_NETNS") == "1" {
				t.Fatalf("%s not found (TCPTUNE_REQUIRE_NETNS=1: CI must run every test)", tool)
			}
			t.Skipf("SKIPPED: %s not found", tool)
		}
	}
}

// cgoOn reports whether a plain `go build` links with cgo here (a C
// compiler is present and CGO_ENABLED is not 0).
func cgoOn(t *testing.T) bool {
	t.Helper()
	return strings.TrimSpace(sh(t, "go", "env", "CGO_ENABLED")) == "1"
}

func sh(t *testing.T, name string, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// TestDeb builds the .deb with packaging/build-deb.sh (what `make deb` runs),
// checks its metadata and file list with dpkg-deb, unpacks it with
// `dpkg --root` into a temporary root and runs the installed binary there.
func TestDeb(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a package (go run nfpm); skipped with -short")
	}
	need(t, "dpkg-deb", "dpkg")
	bin := filepath.Join(t.TempDir(), "tcptune")
	sh(t, "go", "build", "-o", bin, "github.com/tcptune/tcptune/cmd/tcptune") // cgo on: refused below
	out := t.TempDir()
	if _, err := exec.Command("./build-deb.sh", bin, out, "1.2.3~test").CombinedOutput(); err == nil && cgoOn(t) {
		t.Fatal("build-deb.sh packaged a dynamically linked binary; want it refused")
	}
	// Built as make build builds them: static, with scripts/goexperiment's
	// GOEXPERIMENT; without it (when the toolchain has it) the package is refused.
	goexp := strings.TrimSpace(sh(t, "sh", "../scripts/goexperiment"))
	sh(t, "env", "CGO_ENABLED=0", "go", "build", "-o", bin, "github.com/tcptune/tcptune/cmd/tcptune")
	sh(t, "env", "CGO_ENABLED=0", "go", "build", "-tags", "tcptune_ext", "-o", filepath.Join(filepath.Dir(bin), "tcptune-ext"), "github.com/tcptune/tcptune/cmd/tcptune")
	if goexp != "" {
		if b, err := exec.Command("./build-deb.sh", bin, out, "1.2.3~test").CombinedOutput(); err == nil || !strings.Contains(string(b), "GOEXPERIMENT="+goexp) {
			t.Fatalf("build-deb.sh packaged a binary built without GOEXPERIMENT=%s (err %v): %s", goexp, err, b)
		}
		sh(t, "env", "CGO_ENABLED=0", "GOEXPERIMENT="+goexp, "go", "build", "-o", bin, "github.com/tcptune/tcptune/cmd/tcptune")
		sh(t, "env", "CGO_ENABLED=0", "GOEXPERIMENT="+goexp, "go", "build", "-tags", "tcptune_ext", "-o", filepath.Join(filepath.Dir(bin), "tcptune-ext"), "github.com/tcptune/tcptune/cmd/tcptune")
	}
	sh(t, "./build-deb.sh", bin, out, "1.2.3~test")
	debs, _ := filepath.Glob(filepath.Join(out, "*.deb"))
	if len(debs) != 1 {
		t.Fatalf("want one .deb in %s, got %v", out, debs)
	}
	deb := debs[0]

	info := sh(t, "dpkg-deb", "-I", deb)
	for _, want := range []string{"Package: tcptune", "Version: 1.2.3~test", "postinst", "prerm", "postrm", "conffiles"} {
		if !strings.Contains(info, want) {
			t.Errorf("dpkg-deb -I: missing %q:\n%s", want, info)
		}
	}
	if cf := sh(t, "dpkg-deb", "-f", deb, "Package"); strings.TrimSpace(cf) != "tcptune" {
		t.Errorf("Package field %q", cf)
	}
	list := sh(t, "dpkg-deb", "-c", deb)
	for _, want := range []string{
		"./usr/bin/tcptune",
		"./usr/lib/tcptune/tcptune-ext", "./usr/share/man/man8/tcptune-lab.8.gz",
		"./usr/share/man/man8/tcptune.8.gz", "./usr/share/man/man8/tcptune-apply.8.gz",
		"./usr/share/bash-completion/completions/tcptune",
		"./usr/share/zsh/vendor-completions/_tcptune",
		"./usr/share/fish/vendor_completions.d/tcptune.fish",
		"./usr/lib/systemd/system/tcptune-apply.service",
		"./usr/lib/systemd/system/tcptune-reconcile.service",
		"./etc/tcptune/profiles.d/host.yaml",
		"./usr/share/doc/tcptune/contract.md",
		"./var/lib/tcptune/",
	} {
		if !strings.Contains(list, want) {
			t.Errorf("dpkg-deb -c: missing %s", want)
		}
	}

	// Install (unpack) into a private root: dpkg's own database, nothing
	// of this machine's. --unpack runs no maintainer script (there is no
	// preinst); configure would chroot to run postinst, which calls
	// systemctl, so the scripts are only syntax-checked here; boottest runs them
	// for real (install, upgrade, remove, purge) in a booted container.
	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	sh(t, "dpkg", "--root="+root, "--force-not-root", "--unpack", deb)
	if st := sh(t, "dpkg", "--root="+root, "-s", "tcptune"); !strings.Contains(st, "Version: 1.2.3~test") {
		t.Errorf("dpkg -s in the private root:\n%s", st)
	}
	if cf := sh(t, "dpkg-query", "--root="+root, "-W", "-f", "${Conffiles}", "tcptune"); !strings.Contains(cf, "/etc/tcptune/profiles.d/host.yaml") {
		t.Errorf("host.yaml is not a conffile: %q", cf)
	}
	installed := filepath.Join(root, "usr/bin/tcptune")
	sh(t, installed, "version")
	if f, err := elf.Open(installed); err != nil {
		t.Fatal(err)
	} else {
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("packaged %s is dynamically linked (PT_INTERP); the .deb must ship the static build", installed)
			}
		}
		f.Close()
	}
	// The labs are in the companion: /usr/bin/tcptune finds it in
	// /usr/lib/tcptune/ and runs it with the same arguments.
	if labs := sh(t, installed, "lab", "list"); !strings.Contains(labs, "burst-resets") {
		t.Errorf("installed tcptune lab list (through /usr/lib/tcptune/tcptune-ext):\n%s", labs)
	}
	// The packaged profile validates, and the units run it from /usr/bin.
	// Unpacked but not configured, dpkg keeps a conffile as .dpkg-new.
	sh(t, installed, "validate", "-f", filepath.Join(root, "etc/tcptune/profiles.d/host.yaml.dpkg-new"), "host")
	unit, err := os.ReadFile(filepath.Join(root, "usr/lib/systemd/system/tcptune-apply.service"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(unit), "ExecStart=/usr/bin/tcptune apply host ") {
		t.Errorf("tcptune-apply.service does not apply host from /usr/bin:\n%s", unit)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		sh(t, "sh", "-n", filepath.Join("scripts", s))
	}
}
