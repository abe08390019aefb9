#!/bin/sh
# Build dist/tcptune_VERSION_ARCH.deb: stage the binary, man pages,
# completions and units generated from the command tree (cmd/tcptune-gendocs),
# then package with nfpm, run through `go run` so it is not a dependency of
# the module. Used by `make deb` and packaging/deb_test.go.
#   packaging/build-deb.sh BIN OUTDIR [VERSION]
# The companion tcptune-ext (lab, doctor --trace: -tags tcptune_ext) is taken
# from next to BIN unless EXT names it; it goes to /usr/lib/tcptune/.
set -eu
bin=$1 out=$2
ext=${EXT:-$(dirname "$1")/tcptune-ext}
cd "$(dirname "$0")/.."
NFPM_VERSION=${NFPM_VERSION:-v2.43.0}   # v2.44+ needs modules proxy.golang.org does not serve
export DEB_VERSION="${3:-${DEB_VERSION:-0.0.0~dev}}"
export ARCH="${ARCH:-$(go env GOARCH)}"
export STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
# The package ships a static binary (make build: CGO_ENABLED=0): no ld.so or libc start-up on every run.
for b in "$bin" "$ext"; do
	if [ ! -x "$b" ]; then
		echo "build-deb.sh: $b is missing; make build builds bin/tcptune and bin/tcptune-ext" >&2
		exit 1
	fi
	if ! go version -m "$b" | grep -q 'CGO_ENABLED=0'; then
		echo "build-deb.sh: $b is not a static build; build it with CGO_ENABLED=0 (make build)" >&2
		exit 1
	fi
	goexp=$(sh scripts/goexperiment)
	if [ -n "$goexp" ] && ! go version -m "$b" | grep -q "GOEXPERIMENT=$goexp"; then
		echo "build-deb.sh: $b is not built with GOEXPERIMENT=$goexp (scripts/goexperiment says why; make build)" >&2
		exit 1
	fi
done
if ! go version -m "$ext" | grep -q -- '-tags=.*tcptune_ext'; then
	echo "build-deb.sh: $ext is not a tcptune-ext build (go build -tags tcptune_ext)" >&2
	exit 1
fi
install -m 0755 "$bin" "$STAGE/tcptune"
install -m 0755 "$ext" "$STAGE/tcptune-ext"
go run -tags tcptune_ext ./cmd/tcptune-gendocs --man-dir "$STAGE/man" --completion-dir "$STAGE/completions" --unit-dir "$STAGE/units"
gzip -9n "$STAGE"/man/*.8
mkdir -p "$out"
# nfpm expands ${VAR} in fields such as version, not in contents' src.
sed "s|\${STAGE}|$STAGE|g" packaging/nfpm.yaml > "$STAGE/nfpm.yaml"
go run "github.com/goreleaser/nfpm/v2/cmd/nfpm@$NFPM_VERSION" package \
	--config "$STAGE/nfpm.yaml" --packager deb --target "$out/"
