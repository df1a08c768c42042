#!/usr/bin/env bash
# Throughput on loopback (BENCHMARKS.md §2): the same handler served (a) unprotected,
# (b) with #[secure(role, rate, validate)], (c) hand-wired with jsonwebtoken + tower_governor
# + axum-valid, and (b') = (b) with its cache of verified tokens off (every request verifies
# its token, as a new token's first request does). The servers run side by side and wrk loads
# them in turn, ROUNDS times, so that the ratios come from one run on one machine state.
#
#   benches/throughput.sh            # 3 rounds x 10 s per server
#   ROUNDS=5 SECONDS_EACH=15 CONNECTIONS=64 benches/throughput.sh
#   BEFORE=/tmp/throughput_server-before ROUNDS=30 SECONDS_EACH=2 benches/throughput.sh
#
# BEFORE=<a throughput_server binary of another build> adds that build's (b) to the same rounds
# and reports (b) of this build against it, in requests/s and in server CPU per request, so
# that the two builds are compared on one machine state.
#
# Loopback only; every load is bounded by wrk's -d; the servers are killed on exit (and stop
# by themselves after 10 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
SECONDS_EACH=${SECONDS_EACH:-10}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
HOST=127.0.0.1
declare -A PORTS=([bare]=18081 [secure]=18082 [handwired]=18083 [secure-uncached]=18084)
MODES=(bare secure handwired secure-uncached)
declare -A SERVER_PIDS
BEFORE=${BEFORE:-}
if [ -n "$BEFORE" ]; then
  [ -x "$BEFORE" ] || { echo "BEFORE=$BEFORE is not an executable" >&2; exit 1; }
  PORTS[secure-before]=18085
  MODES+=(secure-before)
fi

source benches/support/load.sh
need wrk wrk
server_binary
fresh_secret
TOKEN=$("$SERVER" token)

cat >"$WORK/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '{"text":"a note of a reasonable length, sent to be validated"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
EOF

for mode in "${MODES[@]}"; do
  case $mode in
    secure-before) "$BEFORE" secure "$HOST:${PORTS[$mode]}" 2>"$WORK/$mode.log" & ;;
    *) "$SERVER" "$mode" "$HOST:${PORTS[$mode]}" 2>"$WORK/$mode.log" & ;;
  esac
  PIDS+=($!)
  SERVER_PIDS[$mode]=$!
done
for mode in "${MODES[@]}"; do
  await_server "$mode" "http://$HOST:${PORTS[$mode]}" "$TOKEN"
  # An unauthenticated request must be refused by the protected servers.
  if [ "$mode" != bare ]; then
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' \
      -d '{"text":"ping"}' "http://$HOST:${PORTS[$mode]}/notes")
    [ "$code" = 401 ] || { echo "$mode server let an anonymous request through ($code)" >&2; exit 1; }
  fi
done

echo "== $ROUNDS rounds x ${SECONDS_EACH}s per server, wrk -t$THREADS -c$CONNECTIONS, keep-alive"
echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$WORK/results"
for round in $(seq "$ROUNDS"); do
  for mode in "${MODES[@]}"; do
    # A short warm-up, not counted.
    wrk -t"$THREADS" -c"$CONNECTIONS" -d1s -s "$WORK/post.lua" "http://$HOST:${PORTS[$mode]}/notes" >/dev/null
    ticks_before=$(cpu_ticks "${SERVER_PIDS[$mode]}")
    line=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency -s "$WORK/post.lua" \
      "http://$HOST:${PORTS[$mode]}/notes" | grep '^RESULT')
    read -r _ requests duration_us p50 p99 status_errors socket_errors <<<"$line"
    cpu_us=$(micros_per_request $(($(cpu_ticks "${SERVER_PIDS[$mode]}") - ticks_before)) "$requests")
    rps=$(awk -v r="$requests" -v d="$duration_us" 'BEGIN { printf "%.0f", r / (d / 1e6) }')
    printf '  round %d %-15s %8s req/s  p50 %6.3f ms  p99 %6.3f ms  server CPU %5s µs/request  non-2xx %s  socket errors %s\n' \
      "$round" "$mode" "$rps" "$(awk -v v="$p50" 'BEGIN{print v/1000}')" \
      "$(awk -v v="$p99" 'BEGIN{print v/1000}')" "$cpu_us" "$status_errors" "$socket_errors"
    echo "$round $mode $rps $p50 $p99 $status_errors $cpu_us" >>"$WORK/results"
    if [ "$status_errors" != 0 ]; then
      echo "$mode answered $status_errors requests with a non-2xx status (rate limit hit?)" >&2
      exit 1
    fi
  done
done

echo
echo "== results (median over rounds; ratios computed per round, then the median)"
awk "$MEDIAN_AWK"'
  { rps[$2, $1] = $3; p50[$2, $1] = $4; p99[$2, $1] = $5; cpu[$2, $1] = $7; if ($1 > n) n = $1 }
  END {
    printf "| server | req/s | p50 (ms) | p99 (ms) | server CPU µs/request |\n|---|---:|---:|---:|---:|\n"
    split("bare secure handwired secure-uncached", modes, " ")
    names["bare"] = "(a) unprotected"; names["secure"] = "(b) #[secure]"; names["handwired"] = "(c) hand-wired"
    names["secure-uncached"] = "(b\x27) #[secure], token cache off"
    for (m = 1; m <= 4; m++) {
      k = modes[m]
      printf "| %s | %.0f | %.3f | %.3f | %.2f |\n", names[k], median(rps, k), median(p50, k) / 1000, median(p99, k) / 1000, median(cpu, k)
    }
    for (i = 1; i <= n; i++) {
      ba["x", i] = rps["secure", i] / rps["bare", i]; bc["x", i] = rps["secure", i] / rps["handwired", i]
      ua["x", i] = rps["secure-uncached", i] / rps["bare", i]; uc["x", i] = rps["secure-uncached", i] / rps["handwired", i]
      ca["x", i] = rps["handwired", i] / rps["bare", i]
      cpu_ba["x", i] = cpu["bare", i] / cpu["secure", i]
    }
    printf "\nthroughput b/a = %.3f (target >= 0.95)   b/c = %.3f (target >= 1.25)\n", median(ba, "x"), median(bc, "x")
    printf "token cache off: b\x27/a = %.3f   b\x27/c = %.3f      hand-wired c/a = %.3f   (target b\x27/c >= 1.05)\n", median(ua, "x"), median(uc, "x"), median(ca, "x")
    printf "per round b/a:"; for (i = 1; i <= n; i++) printf " %.3f", ba["x", i]; printf "\n"
    printf "per round b/c:"; for (i = 1; i <= n; i++) printf " %.3f", bc["x", i]; printf "\n"
    printf "per round b\x27/c:"; for (i = 1; i <= n; i++) printf " %.3f", uc["x", i]; printf "\n"
    printf "server CPU per request, a/b = %.3f (steadier than req/s where wrk shares the cores)\n", median(cpu_ba, "x")
    if (("secure-before", 1) in rps) {
      for (i = 1; i <= n; i++) {
        bb["x", i] = rps["secure", i] / rps["secure-before", i]; pa["x", i] = rps["secure-before", i] / rps["bare", i]
        cpu_bb["x", i] = cpu["secure-before", i] / cpu["secure", i]
      }
      printf "\nthis build / BEFORE, (b) = %.3f   BEFORE b/a = %.3f (req/s %.0f)\n", median(bb, "x"), median(pa, "x"), median(rps, "secure-before")
      printf "per round (b) / BEFORE:"; for (i = 1; i <= n; i++) printf " %.3f", bb["x", i]; printf "\n"
      printf "server CPU per request, BEFORE / this build, (b) = %.3f\n", median(cpu_bb, "x")
    }
  }' "$WORK/results"
