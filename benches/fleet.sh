#!/usr/bin/env bash
# The fleet path (BENCHMARKS.md §7): the same limited route (600 requests a minute per user)
# served with its budgets in memory and in a real redis-server on loopback, under one load in
# which HEAVY_PERCENT of the requests (default 50) come from 8 users far over their limit and
# the others from 10,000 users well within it. wrk loads the two servers (four with the floor)
# in turn, ROUNDS times; the ratio of their requests per second comes from one run on one
# machine state. Redis's own count of the rate calls it ran (INFO commandstats: the scripts,
# or the floor's INCRs) gives the calls per admitted decision (under one when decisions share
# a batch), and its reads of its socket how many arrive together. The CPU
# time of the server and of Redis during each load (from /proc) gives their cost per request.
#
#   benches/fleet.sh                 # 5 rounds x 10 s per server
#   HEAVY_PERCENT=90 ROUNDS=7 SECONDS_EACH=15 CONNECTIONS=64 benches/fleet.sh
#   SERVER=/tmp/throughput_server-before benches/fleet.sh
#   PAIRS="fleet floor" benches/fleet.sh   # and, in the same rounds, the floor: the route with
#                                          # no library, one INCR per admitted request
#
# Loopback only; every load is bounded by wrk's -d; the servers and Redis are killed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
SECONDS_EACH=${SECONDS_EACH:-10}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
LIGHT_USERS=${LIGHT_USERS:-10000}
HEAVY_USERS=${HEAVY_USERS:-8}
HEAVY_PERCENT=${HEAVY_PERCENT:-50}
HOST=127.0.0.1
REDIS_PORT=16391
PAIRS=${PAIRS:-fleet}
declare -A PORTS=([fleet-memory]=18091 [fleet-redis]=18092 [floor-memory]=18093 [floor-redis]=18094)
MODES=()
for pair in $PAIRS; do MODES+=("$pair-memory" "$pair-redis"); done

source benches/support/load.sh
need wrk wrk
need redis-server redis-server
need redis-cli redis-tools
# SERVER=<a throughput_server binary> measures another build (BENCHMARKS.md §7: the "before").
server_binary

redis-server --port "$REDIS_PORT" --bind "$HOST" --save "" --appendonly no >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
PIDS+=("$REDIS_PID")
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
# The answer must come from this run's server, not from one still on the port.
sleep 0.2
kill -0 "$REDIS_PID" 2>/dev/null || { echo "redis-server did not start:" >&2; cat "$WORK/redis.log" >&2; exit 1; }
export SECURE_API_REDIS_URL="redis://$HOST:$REDIS_PORT/"

fresh_secret
"$SERVER" tokens $((LIGHT_USERS + HEAVY_USERS)) >"$WORK/tokens"
head -n "$LIGHT_USERS" "$WORK/tokens" >"$WORK/light"
tail -n "$HEAVY_USERS" "$WORK/tokens" >"$WORK/heavy"

cat >"$WORK/mix.lua" <<'EOF'
-- args[3] requests in a hundred are a heavy user's (over its limit), the others a light user's.
local light, heavy, body = {}, {}, '{"text":"a note of a reasonable length, sent to be validated"}'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  for line in io.lines(args[1]) do light[#light + 1] = line end
  for line in io.lines(args[2]) do heavy[#heavy + 1] = line end
  heavy_percent = tonumber(args[3])
  sent, light_sent, heavy_sent = 0, math.random(0, #light), 0
  admitted, throttled, other = 0, 0, 0
end
function request()
  sent = sent + 1
  local token
  if sent % 100 < heavy_percent then
    heavy_sent = heavy_sent + 1
    token = heavy[heavy_sent % #heavy + 1]
  else
    light_sent = light_sent + 1
    token = light[light_sent % #light + 1]
  end
  return wrk.format("POST", "/notes",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }, body)
end
function response(status)
  if status == 201 then admitted = admitted + 1
  elseif status == 429 then throttled = throttled + 1
  else other = other + 1 end
end
function done(summary, latency)
  local a, t, o = 0, 0, 0
  for _, thread in ipairs(threads) do
    a = a + thread:get("admitted"); t = t + thread:get("throttled"); o = o + thread:get("other")
  end
  io.write(string.format("RESULT %d %d %d %d %d %d %d\n", summary.requests, summary.duration,
    a, t, o, latency:percentile(50), latency:percentile(99)))
end
EOF

declare -A SERVER_PIDS
for mode in "${MODES[@]}"; do
  "$SERVER" "$mode" "$HOST:${PORTS[$mode]}" 2>"$WORK/$mode.log" &
  SERVER_PIDS[$mode]=$!
  PIDS+=($!)
done
LIGHT_TOKEN=$(head -n 1 "$WORK/light")
for mode in "${MODES[@]}"; do
  await_server "$mode" "http://$HOST:${PORTS[$mode]}" "$LIGHT_TOKEN"
done

# Redis's reads of its socket: calls per read is how many calls arrive together.
reads_processed() {
  redis-cli -p "$REDIS_PORT" info stats | tr -d '\r' | awk -F: '/^total_reads_processed:/ { print $2 }'
}

redis_calls() {
  redis-cli -p "$REDIS_PORT" info commandstats | tr -d '\r' |
    awk -F'[:=,]' '/^cmdstat_(evalsha|eval|incr):/ { n += $3 } END { print n + 0 }'
}

echo "== $ROUNDS rounds x ${SECONDS_EACH}s per server, wrk -t$THREADS -c$CONNECTIONS, keep-alive;" \
  "$LIGHT_USERS light users, $HEAVY_USERS heavy ones sending $HEAVY_PERCENT % of the requests"
echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$WORK/results"
for round in $(seq "$ROUNDS"); do
  for mode in "${MODES[@]}"; do
    url="http://$HOST:${PORTS[$mode]}/notes"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d1s -s "$WORK/mix.lua" "$url" -- "$WORK/light" "$WORK/heavy" "$HEAVY_PERCENT" >/dev/null
    before=$(redis_calls)
    reads_before=$(reads_processed)
    server_before=$(cpu_ticks "${SERVER_PIDS[$mode]}")
    redis_before=$(cpu_ticks "$REDIS_PID")
    line=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency -s "$WORK/mix.lua" \
      "$url" -- "$WORK/light" "$WORK/heavy" "$HEAVY_PERCENT" | grep '^RESULT')
    calls=$(($(redis_calls) - before))
    reads=$(($(reads_processed) - reads_before))
    server_ticks=$(($(cpu_ticks "${SERVER_PIDS[$mode]}") - server_before))
    redis_ticks=$(($(cpu_ticks "$REDIS_PID") - redis_before))
    read -r _ requests duration_us admitted throttled other p50 p99 <<<"$line"
    rps=$(awk -v r="$requests" -v d="$duration_us" 'BEGIN { printf "%.0f", r / (d / 1e6) }')
    per_admitted=$(awk -v s="$calls" -v a="$admitted" 'BEGIN { printf "%.3f", (a ? s / a : 0) }')
    per_read=$(awk -v s="$calls" -v r="$reads" 'BEGIN { printf "%.1f", (r ? s / r : 0) }')
    server_us=$(micros_per_request "$server_ticks" "$requests")
    redis_us=$(micros_per_request "$redis_ticks" "$requests")
    printf '  round %d %-13s %7s req/s  admitted %7d  throttled %7d  other %d  p50 %6.3f ms  p99 %6.3f ms  Redis calls per admitted %s, per read %s  CPU per request: server %s µs, Redis %s µs\n' \
      "$round" "$mode" "$rps" "$admitted" "$throttled" "$other" "$(awk -v v="$p50" 'BEGIN{print v/1000}')" \
      "$(awk -v v="$p99" 'BEGIN{print v/1000}')" "$per_admitted" "$per_read" "$server_us" "$redis_us"
    echo "$round $mode $rps $admitted $throttled $other $calls $server_us $redis_us" >>"$WORK/results"
    if [ "$other" != 0 ]; then
      echo "$mode answered $other requests with neither 201 nor 429" >&2
      exit 1
    fi
  done
done

echo
echo "== results (median over rounds; the ratio per round, then its median)"
awk -v pairs="$PAIRS" "$MEDIAN_AWK"'
  { rps[$2, $1] = $3; adm[$2, $1] = $4; thr[$2, $1] = $5; scr[$2, $1] = $7; srv[$2, $1] = $8; red[$2, $1] = $9
    if ($1 > n) n = $1 }
  END {
    printf "| server | req/s | admitted | throttled | Redis calls per admitted | server CPU µs/request | Redis CPU µs/request |\n|---|---:|---:|---:|---:|---:|---:|\n"
    count = split(pairs, pair, " ")
    for (p = 1; p <= count; p++) {
      m = pair[p] "-memory"; r = pair[p] "-redis"
      for (i = 1; i <= n; i++) {
        ratio[pair[p], i] = rps[r, i] / rps[m, i]
        share[m, i] = adm[m, i] / (adm[m, i] + thr[m, i])
        share[r, i] = adm[r, i] / (adm[r, i] + thr[r, i])
        trips[pair[p], i] = scr[r, i] / adm[r, i]
      }
      printf "| %s | %.0f | %.1f %% | %.1f %% | - | %.1f | - |\n", m, median(rps, m), 100 * median(share, m), 100 - 100 * median(share, m), median(srv, m)
      printf "| %s | %.0f | %.1f %% | %.1f %% | %.3f | %.1f | %.1f |\n", r, median(rps, r), 100 * median(share, r), 100 - 100 * median(share, r), median(trips, pair[p]), median(srv, r), median(red, r)
    }
    for (p = 1; p <= count; p++) {
      printf "\n%s: Redis / memory = %.3f%s\n", pair[p], median(ratio, pair[p]), (pair[p] == "fleet" ? " (target >= 0.80)" : "")
      printf "per round:"; for (i = 1; i <= n; i++) printf " %.3f", ratio[pair[p], i]; printf "\n"
    }
  }' "$WORK/results"
