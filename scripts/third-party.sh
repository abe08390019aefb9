#!/bin/bash
# third-party.sh [--check]: rebuild third_party/ from the upstream modules and
# the patches in third_party/patches (see third_party/README.md).
#   (no flag)  replace third_party/<module> with upstream + patch
#   --check    build into a temp dir and fail if the committed copy differs:
#              third_party/ is exactly upstream plus the patch, nothing else;
#              then run upstream's own tests on the patched packages
# Needs go (module download) and git (git apply, outside any repository).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
# module|version|patch|package directories copied (the module's non-test .go
# files)|upstream tests that fail as root on the unpatched module too (skipped
# as root: a 0400 file is writable by root)
MODULES=(
  "go.yaml.in/yaml/v3|v3.0.6|go.yaml.in-yaml-v3.patch|.|"
  "github.com/spf13/cobra|v1.10.2|spf13-cobra.patch|. doc|TestFailGenFishCompletionFile"
)
check=0
case "${1:-}" in
  --check) check=1 ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir "$tmp/mod" "$tmp/out"
status=0
for ent in "${MODULES[@]}"; do
  IFS='|' read -r mod ver patch pkgs rootskip <<<"$ent"
  # Outside any module, so go.mod's replace directives do not apply.
  src=$(cd "$tmp/mod" && GOFLAGS=-mod=mod "$GO" mod download -json "$mod@$ver" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$src" ] && [ -d "$src" ] || { echo "third-party: cannot download $mod@$ver" >&2; exit 1; }
  dst=$tmp/out/$mod
  mkdir -p "$dst"
  cp "$src/go.mod" "$dst/"
  for f in "$src"/LICENSE* "$src"/NOTICE*; do [ -e "$f" ] && cp "$f" "$dst/"; done
  for p in $pkgs; do
    mkdir -p "$dst/$p"
    for f in "$src/$p"/*.go; do
      case $f in *_test.go) ;; *) cp "$f" "$dst/$p/" ;; esac
    done
  done
  chmod -R u+w "$dst"
  (cd "$dst" && git apply -p1 "$OLDPWD/third_party/patches/$patch") ||
    { echo "third-party: $patch does not apply to $mod@$ver" >&2; exit 1; }
  if [ $check = 1 ]; then
    if ! diff -r "$dst" "third_party/$mod" >"$tmp/diff" 2>&1; then
      echo "third_party/$mod is not $mod@$ver plus third_party/patches/$patch:" >&2
      head -40 "$tmp/diff" >&2
      echo "(run scripts/third-party.sh to rebuild it; change the patch, not the copy)" >&2
      status=1
      continue
    fi
    # Upstream's tests, on the patched sources (tests are not kept in third_party).
    for p in $pkgs; do
      for f in "$src/$p"/*_test.go; do [ -e "$f" ] && cp "$f" "$dst/$p/"; done
    done
    cp "$src/go.sum" "$dst/" 2>/dev/null || true
    chmod -R u+w "$dst"
    tpk=(); for p in $pkgs; do tpk+=("./$p"); done
    skip=(); if [ "$(id -u)" = 0 ] && [ -n "$rootskip" ]; then skip=(-skip "^($rootskip)\$"); fi
    if ! (cd "$dst" && GOFLAGS=-mod=mod "$GO" test -count=1 "${skip[@]}" "${tpk[@]}" >"$tmp/test.log" 2>&1); then
      echo "third-party: upstream tests of $mod@$ver fail with $patch:" >&2
      tail -30 "$tmp/test.log" >&2
      status=1
    else
      echo "third_party/$mod: upstream + $patch, upstream tests pass"
    fi
  else
    rm -rf "third_party/$mod"
    mkdir -p "third_party/$mod"
    cp -r "$dst/." "third_party/$mod/"
    echo "third_party/$mod: $mod@$ver + patches/$patch"
  fi
done
exit $status
