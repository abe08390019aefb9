#!/usr/bin/env bash
# make bench-trace (issue 11): the reset tracer's throughput and doctor's cost during a burst, measured, never
# asserted in tests. Both run inside private network namespaces (unshare -n), on loopback only:
#  1. resettrace's BenchmarkResetEvents: connects to a closed loopback port from 8 goroutines, each a reset sent
#     and one received, with the BPF tracer attached; the events per second it took in, events missed and events
#     the ring buffer dropped.
#  2. doctor --once, idle vs during a burst: instructions (callgrind, median of INSTR_RUNS) and wall time
#     (hyperfine) of `tcptune doctor --once` in an idle namespace, then while bench/burst runs a bounded burst of
#     loopback connects (WORKERS goroutines, one connect in flight each, at most 120 s; killed by its PID when
#     done or when the script exits), printed as a ratio.
# Writes OUT (docs/bench-trace-results.md): a "#" title, then "##" sections; scripts/bench.sh embeds the sections
# in docs/bench-results.md.
set -euo pipefail
OUT=${OUT:-docs/bench-trace-results.md}
COUNT=${COUNT:-3}
BENCHTIME=${BENCHTIME:-20000x}
GO=${GO:-go}
RUNS=${RUNS:-20}
INSTR_RUNS=${INSTR_RUNS:-3}
WORKERS=${WORKERS:-4}

die() { echo "bench-trace.sh: error: $*" >&2; exit 1; }
have() { command -v "$1" >/dev/null; }

# instr CMD...: instructions (callgrind Ir) of one run of CMD, the median of INSTR_RUNS; "-" without valgrind.
instr() {
  have valgrind || { echo "-"; return; }
  local vals=() i v
  for i in $(seq "$INSTR_RUNS"); do
    GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$@" >/dev/null 2>"$tmp/cg.err" || true
    v=$(awk '/Collected :/ {print $4}' "$tmp/cg.err")
    rm -f "$tmp/cg.out" "$tmp/cg.err"
    [ -n "$v" ] || die "callgrind failed on: $*"
    vals+=("$v")
  done
  printf '%s\n' "${vals[@]}" | sort -n | sed -n "$(( (${#vals[@]} + 1) / 2 ))p"
}
mean() { python3 -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["results"][0]["mean"]*1000))' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }
mi() { awk -v a="$1" 'BEGIN { if (a == "-") print "-"; else printf "%.2f", a / 1e6 }'; }

# ---------------------------------------------------------------- doctor idle vs burst, inside the namespace
if [ "${1:-}" = __burst ]; then
  self=$(readlink /proc/self/ns/net)
  [ -n "${PARENT_NETNS:-}" ] && [ "$self" != "$PARENT_NETNS" ] || die "refusing: $self is not a private network namespace"
  tmp=$2
  ip link set lo up
  # A state directory that does not exist: no history (doctor reads it only).
  doc=("$BIN" doctor --once -o json --state-dir "$tmp/no-state")
  hyperfine -N -i --warmup 3 --runs "$RUNS" --export-json "$tmp/idle.json" -n "doctor --once, idle" "${doc[*]}"
  echo "idle $(instr "${doc[@]}")" >"$tmp/burst-instr.txt"
  bp=
  stop() { if [ -n "$bp" ]; then kill -TERM "$bp" 2>/dev/null || true; wait "$bp" 2>/dev/null || true; bp=; fi; }
  trap stop EXIT
  "$BURST" -max-dur 120s 127.0.0.1:9100 "$WORKERS" "$tmp/burst.ready" >"$tmp/burst.out" & bp=$!
  for _ in $(seq 100); do [ -e "$tmp/burst.ready" ] && break; kill -0 "$bp" 2>/dev/null || die "burst died"; sleep 0.1; done
  [ -e "$tmp/burst.ready" ] || die "burst not ready after 10 s"
  start=$(date +%s.%N)
  hyperfine -N -i --warmup 3 --runs "$RUNS" --export-json "$tmp/burst.json" -n "doctor --once, burst" "${doc[*]}"
  echo "burst $(instr "${doc[@]}")" >>"$tmp/burst-instr.txt"
  kill -0 "$bp" 2>/dev/null || die "the burst ended before the measurement did (raise -max-dur)"
  end=$(date +%s.%N)
  stop
  trap - EXIT
  awk -v s="$start" -v e="$end" '{ print; print "measured " e - s }' "$tmp/burst.out" >"$tmp/burst.txt"
  exit 0
fi

[ "$(id -u)" = 0 ] || die "needs root (BPF and a private network namespace)"
have hyperfine || die "hyperfine not found (apt-get install -y hyperfine)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
$GO test -c -o "$tmp/resettrace.test" ./resettrace
CGO_ENABLED=0 $GO build -o "$tmp/burst" ./bench/burst
if [ -n "${BIN:-}" ]; then BIN=$(readlink -f "$BIN"); else CGO_ENABLED=0 $GO build -o "$tmp/tcptune" ./cmd/tcptune; BIN=$tmp/tcptune; fi

echo "== reset tracer events/s (private network namespace)"
# The parent namespace as netns.Parent reads it ("dev:ino" of the nsfs file): the benchmark refuses to run in it.
parent=$(stat -L -c '%d:%i' /proc/self/ns/net)
TCPTUNE_NETNS_PARENT=$parent unshare -n sh -c "ip link set lo up && exec '$tmp/resettrace.test' -test.run '^\$' \
  -test.bench '^BenchmarkResetEvents\$' -test.benchtime '$BENCHTIME' -test.count '$COUNT'" | tee "$tmp/bench.txt"
grep -q '^BenchmarkResetEvents' "$tmp/bench.txt" || die "the benchmark did not run"

echo "== doctor --once, idle vs during a burst (private network namespace)"
unshare -n env PARENT_NETNS="$(readlink /proc/self/ns/net)" BIN="$BIN" BURST="$tmp/burst" RUNS="$RUNS" \
  INSTR_RUNS="$INSTR_RUNS" WORKERS="$WORKERS" bash "$0" __burst "$tmp"

bi() { awk -v k="$1" '$1 == k { print $2 }' "$tmp/burst-instr.txt"; }
wi=$(mean "$tmp/idle.json"); wb=$(mean "$tmp/burst.json")
read -r _ conns _ secs _ rate < <(head -1 "$tmp/burst.txt")
{
  echo "# Reset tracer throughput, doctor during a burst"
  echo
  echo "Generated by \`make bench-trace\` (scripts/bench-trace.sh) on $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r),"
  echo "$(nproc) CPU(s). The machine is shared and loaded: compare the ratios, not the absolute numbers."
  echo
  echo "## Reset tracer: events per second"
  echo
  echo "Each op is one connect to a closed loopback port in a private network namespace: one reset"
  echo "sent (NO_SOCKET) and one received, so 2 events per op. events/s is what the BPF tracer took in while 8"
  echo "goroutines connected as fast as they could; missed counts events the tracer did not deliver, lost those the"
  echo "ring buffer (1 MiB) had no room for."
  echo
  echo '```'
  grep -E '^(goos|goarch|cpu|BenchmarkResetEvents)' "$tmp/bench.txt"
  echo '```'
  echo
  echo "## doctor --once during a burst of connects"
  echo
  echo "\`tcptune doctor --once -o json\` in a private network namespace, idle, then while bench/burst connects to a"
  echo "loopback listener in it and resets each connection ($WORKERS workers, one connect in flight each): $conns"
  echo "connects in ${secs} s ($rate) over the measurement. Instructions: callgrind, median of $INSTR_RUNS run(s); wall:"
  echo "hyperfine, $RUNS runs each."
  echo
  echo "| | instructions | vs idle | wall mean | vs idle |"
  echo "|---|---:|---:|---:|---:|"
  echo "| doctor --once, idle | $(mi "$(bi idle)") M | 1.00x | $wi ms | 1.00x |"
  echo "| doctor --once, during the burst | $(mi "$(bi burst)") M | $(ratio "$(bi burst)" "$(bi idle)")x | $wb ms | $(ratio "$wb" "$wi")x |"
  echo
  echo "The wall time during the burst includes sharing the 2 CPUs with the burst itself; the instructions are"
  echo "doctor's own work."
} >"$OUT"
echo "wrote $OUT"
