# tcptune — build, test and release tasks.
#   make build     build ./bin/tcptune and its companion ./bin/tcptune-ext (lab, doctor --trace)
#   make test      install test packages (root) + lint + all tests; kernel tests run in private network namespaces when root
#   make lint      go vet + gofmt check + go mod tidy check + third_party/ is upstream + patches (scripts/third-party.sh --check)
#   make fuzz      run each fuzz target briefly (FUZZTIME, default 10s)
#   make lab       every lab scenario in private network namespaces -> docs/lab-results.{md,json} (root)
#   make bench     Go benchmarks + whole-process comparison with procps -> docs/bench-results.md (root, hyperfine)
#   make install   binary, profiles dir, man pages, completions (PREFIX, DESTDIR)
#   make deb       dist/tcptune_VERSION_ARCH.deb (nfpm through go run)
#   make bench-trace  reset tracer events/s, doctor --once idle vs during a burst (private netns) -> docs/bench-trace-results.md (root)
#   make bpf       regenerate resettrace's BPF object and Go bindings (bpftool, clang, libbpf-dev)
#   make boot-test the .deb in booted systemd-nspawn containers, across reboots (root; part of make test)
GO       ?= go
PREFIX   ?= /usr/local
DESTDIR  ?=
FUZZTIME ?= 10s
LABRUNS  ?= 1
DEB_VERSION ?= 0.0.0~git$(shell git rev-parse --short HEAD 2>/dev/null || echo dev)
GENDOCS  := bin/gendocs
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X github.com/tcptune/tcptune/internal/cli.Version=$(VERSION)
# Kernel tests need root for unshare(CLONE_NEWNET); as root they must not be skipped.
REQUIRE_NETNS := $(shell [ "$$(id -u)" = 0 ] && echo 1 || echo 0)

.PHONY: all build test test-deps lint fuzz install clean lab bench deb boot-test bpf bench-trace

all: build

# Static (CGO_ENABLED=0): no ld.so or libc start-up on every diff and apply (make bench); the .deb ships it.
# GOEXPERIMENT from scripts/goexperiment (it says why): the collector of Go before 1.26, fewer page faults.
GOEXP    := $(shell sh scripts/goexperiment $(GO))
# tcptune-ext is the same main with -tags tcptune_ext: every command, the labs and the BPF tracer
# (cilium/ebpf) included; tcptune leaves those out and runs tcptune-ext for them (internal/cli/ext.go).
EXT_TAGS := tcptune_ext
build:
	CGO_ENABLED=0 GOEXPERIMENT=$(GOEXP) $(GO) build -ldflags "$(LDFLAGS)" -o bin/tcptune ./cmd/tcptune
	CGO_ENABLED=0 GOEXPERIMENT=$(GOEXP) $(GO) build -tags $(EXT_TAGS) -ldflags "$(LDFLAGS)" -o bin/tcptune-ext ./cmd/tcptune

lint:
	$(GO) vet ./...
	$(GO) vet -tags $(EXT_TAGS) ./...
	@if $(GO) list -deps ./cmd/tcptune | grep -qx 'github.com/cilium/ebpf\|github.com/tcptune/tcptune/lab\|github.com/godbus/dbus/v5'; then \
	  echo "bin/tcptune links cilium/ebpf, the labs or D-Bus: they belong in tcptune-ext (-tags $(EXT_TAGS))"; exit 1; fi
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum not tidy: run 'go mod tidy'"; exit 1; }
	GO=$(GO) scripts/third-party.sh --check
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

test-deps:
	scripts/install-test-deps

test: test-deps lint
	@if [ "$(REQUIRE_NETNS)" != 1 ]; then \
	  echo "NOTE: not root: kernel tests (private network namespaces) will be SKIPPED"; fi
	TCPTUNE_REQUIRE_NETNS=$(REQUIRE_NETNS) $(GO) test -tags $(EXT_TAGS) -count=1 -timeout 15m $$($(GO) list ./... | grep -v /boottest$$)
	TCPTUNE_REQUIRE_NETNS=$(REQUIRE_NETNS) $(GO) test -count=1 -timeout 15m ./internal/cli ./cmd/tcptune
	@$(MAKE) --no-print-directory boot-test

# Boots containers of a cached Debian image (/var/cache/tcptune-boottest): needs root,
# debootstrap and systemd-container; says SKIPPED without them, fails instead when TCPTUNE_REQUIRE_NETNS=1.
boot-test:
	TCPTUNE_REQUIRE_NETNS=$(REQUIRE_NETNS) $(GO) test -count=1 -v -timeout 15m ./boottest

fuzz:
	$(GO) test ./profiles -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME)
	$(GO) test ./sysctl -run '^$$' -fuzz '^FuzzParseKey$$' -fuzztime $(FUZZTIME)
	$(GO) test ./apply -run '^$$' -fuzz '^FuzzParseRecord$$' -fuzztime $(FUZZTIME)

install: build
	install -D -m 0755 bin/tcptune $(DESTDIR)$(PREFIX)/bin/tcptune
	install -D -m 0755 bin/tcptune-ext $(DESTDIR)$(PREFIX)/lib/tcptune/tcptune-ext
	install -d -m 0755 $(DESTDIR)/etc/tcptune/profiles.d
	rm -rf $(GENDOCS) && $(GO) run -tags $(EXT_TAGS) ./cmd/tcptune-gendocs --man-dir $(GENDOCS)/man --completion-dir $(GENDOCS)/completions
	install -d -m 0755 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 $(GENDOCS)/man/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -D -m 0644 $(GENDOCS)/completions/bash/tcptune $(DESTDIR)$(PREFIX)/share/bash-completion/completions/tcptune
	install -D -m 0644 $(GENDOCS)/completions/zsh/_tcptune $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_tcptune
	install -D -m 0644 $(GENDOCS)/completions/fish/tcptune.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/tcptune.fish

deb: build
	packaging/build-deb.sh bin/tcptune dist $(DEB_VERSION)

lab: build
	$(GO) build -o bin/tcptune-lab-httpclient ./cmd/tcptune-lab-httpclient
	./bin/tcptune lab all --runs $(LABRUNS) --readme README.md --markdown docs/lab-results.md --json docs/lab-results.json --svg-dir docs

bench: build
	BIN=bin/tcptune bash scripts/bench.sh

bench-trace:
	GO=$(GO) bash scripts/bench-trace.sh

# The generated object is committed: building tcptune needs no clang.
bpf:
	bpftool btf dump file /sys/kernel/btf/vmlinux format c > resettrace/bpf/vmlinux.h
	cd resettrace && $(GO) generate ./

clean:
	rm -rf bin
