# tcptune — build, test and release tasks.
#   make build     build ./bin/tcptune
#   make test      lint + all tests; kernel tests run in private network namespaces when root
#   make lint      go vet + gofmt check
#   make fuzz      run each fuzz target briefly (FUZZTIME, default 10s)
#   make install   install binary (PREFIX, DESTDIR)
GO       ?= go
PREFIX   ?= /usr/local
DESTDIR  ?=
FUZZTIME ?= 10s
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X github.com/tcptune/tcptune/internal/cli.Version=$(VERSION)
# Kernel tests need root for unshare(CLONE_NEWNET); as root they must not be skipped.
REQUIRE_NETNS := $(shell [ "$$(id -u)" = 0 ] && echo 1 || echo 0)

.PHONY: all build test lint fuzz install clean deps

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/tcptune ./cmd/tcptune

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

test: lint
	@if [ "$(REQUIRE_NETNS)" != 1 ]; then \
	  echo "NOTE: not root: kernel tests (private network namespaces) will be SKIPPED"; fi
	TCPTUNE_REQUIRE_NETNS=$(REQUIRE_NETNS) $(GO) test -count=1 -timeout 15m ./...

fuzz:
	$(GO) test ./profiles -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME)
	$(GO) test ./sysctl -run '^$$' -fuzz '^FuzzParseKey$$' -fuzztime $(FUZZTIME)

install: build
	install -D -m 0755 bin/tcptune $(DESTDIR)$(PREFIX)/bin/tcptune
	install -d -m 0755 $(DESTDIR)/etc/tcptune/profiles.d

clean:
	rm -rf bin
