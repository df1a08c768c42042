#!/usr/bin/env bash
# Rounds of the guard micro-benchmark (BENCHMARKS.md §1): each round runs criterion once per
# algorithm, reads its estimates (mean time per call) and computes the ratios of that round:
# the guard with the token cache off, and with it on, against the bare `jsonwebtoken::decode`
# measured just before. Prints every round, then the medians.
#
#   benches/guard_rounds.sh                         # 5 rounds of HS256, ~4 minutes
#   ROUNDS=5 benches/guard_rounds.sh HS256 ES256 EdDSA
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/support/load.sh

ROUNDS=${ROUNDS:-5}
ALGORITHMS=("$@")
[ ${#ALGORITHMS[@]} -gt 0 ] || ALGORITHMS=(HS256)
need jq jq

echo "== building the benchmark (release)"
cargo bench --bench guard --no-run 2>&1 | tail -1

# The mean of one benchmark of the last criterion run, in ns.
mean() {
  jq '.mean.point_estimate' "target/criterion/$1/$2/$1/new/estimates.json"
}

printf '%-6s %5s %12s %12s %12s %10s %10s\n' \
  algorithm round bare_typed guard_uncached guard uncached/bare cached/bare
for round in $(seq "$ROUNDS"); do
  for algorithm in "${ALGORITHMS[@]}"; do
    cargo bench --bench guard -- "^$algorithm/" >"$WORK/criterion.log" 2>&1 ||
      { cat "$WORK/criterion.log" >&2; exit 1; }
    bare=$(mean "$algorithm" bare_typed)
    uncached=$(mean "$algorithm" guard_uncached)
    cached=$(mean "$algorithm" guard)
    awk -v a="$algorithm" -v r="$round" -v b="$bare" -v u="$uncached" -v c="$cached" \
      'BEGIN { printf "%-6s %5d %12.1f %12.1f %12.1f %10.3f %10.4f\n", a, r, b, u, c, u / b, c / b }'
  done
done | tee "$WORK/rounds"

echo "== medians over $ROUNDS rounds"
awk "$MEDIAN_AWK"'
  NR > 1 { k = $1; n = ++count[k]; uncached[k, n] = $6; cached[k, n] = $7 }
  END { for (k in count) { n = count[k]; printf "%-6s uncached/bare %.3f   cached/bare %.4f\n", k, median(uncached, k), median(cached, k) } }
' "$WORK/rounds"
