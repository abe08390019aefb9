# Helpers shared by scripts/bench.sh and scripts/bench-trace.sh (sourced; they set tmp and die before calling).
have() { command -v "$1" >/dev/null; }

# instr CMD...: instructions (callgrind Ir) of one run of CMD, the median of INSTR_RUNS (5); "-" without
# valgrind. GODEBUG=asyncpreemptoff=1: callgrind aborts on the Go runtime's preemption signals. GOMAXPROCS=1:
# valgrind runs one thread at a time, so with more Ps the runtime's idle threads spin looking for work for as
# long as valgrind's scheduler lets them; those instructions depend on valgrind's time slices, not on the
# program (tcptune diff: 0.94-1.09 M over 9 runs at 2 Ps, 0.88-0.98 M at 1). Both are set for every program
# measured; C programs ignore them. Wall times (hyperfine) run with neither.
instr() {
  have valgrind || { echo "-"; return; }
  local vals=() i out v
  for i in $(seq "${INSTR_RUNS:-5}"); do
    out=$(mktemp "$tmp/cg.XXXXXX")
    GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file="$out.cg" "$@" >/dev/null 2>"$out.err" || true
    v=$(awk '/Collected :/ {print $4}' "$out.err")
    rm -f "$out" "$out.cg" "$out.err"
    [ -n "$v" ] || die "callgrind failed on: $*"
    vals+=("$v")
  done
  printf '%s\n' "${vals[@]}" | sort -n | sed -n "$(( (${#vals[@]} + 1) / 2 ))p"
}

# mean FILE [N]: hyperfine's mean of command N (0-based, default 0) in ms; median FILE [N]: its median.
hstat() { python3 -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["results"][int(sys.argv[2])][sys.argv[3]]*1000))' "$1" "${2:-0}" "$3"; }
mean() { hstat "$1" "${2:-0}" mean; }
median() { hstat "$1" "${2:-0}" median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }
mi() { awk -v a="$1" 'BEGIN { if (a == "-") print "-"; else printf "%.2f", a / 1e6 }'; }
