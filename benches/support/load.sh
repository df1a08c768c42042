# Sourced by the load scripts (benches/throughput.sh, benches/fleet.sh): the tools they need,
# the server binary, a work folder whose processes end with the script, a fresh HS256
# secret, and the median the results are reported as.

# Installs the Debian package `$2` when the command `$1` is missing.
need() {
  command -v "$1" >/dev/null && return
  echo "== installing $2"
  local sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq "$2" >/dev/null
}

# SERVER: the throughput_server binary (release), built here unless SERVER is already set.
server_binary() {
  if [ -z "${SERVER:-}" ]; then
    echo "== building the servers (release)"
    cargo bench --bench throughput_server --no-run 2>&1 | tail -1
    SERVER=$(cargo bench --bench throughput_server --no-run --message-format=json 2>/dev/null |
      sed -n 's/.*"executable":"\([^"]*throughput_server[^"]*\)".*/\1/p' | tail -1)
  fi
  [ -x "$SERVER" ] || { echo "throughput_server binary not found" >&2; exit 1; }
}

# WORK: a temporary folder; PIDS: the processes to stop, and wait for, when the script ends,
# so that a run right after finds the ports free.
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# A fresh 64-character HS256 secret, without a trailing newline, for the servers and tokens.
fresh_secret() {
  head -c 48 /dev/urandom | base64 | tr -d '\n' >"$WORK/secret"
  export SECURE_API_JWT_SECRET_FILE="$WORK/secret"
}

# An awk function: the median of arr[k, 1..n].
MEDIAN_AWK='
  function median(arr, k,   i, j, t, c, vals) {
    c = 0
    for (i = 1; i <= n; i++) vals[++c] = arr[k, i]
    for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (vals[j] < vals[i]) { t = vals[i]; vals[i] = vals[j]; vals[j] = t }
    return (c % 2) ? vals[(c + 1) / 2] : (vals[c / 2] + vals[c / 2 + 1]) / 2
  }'

# Waits until the server `$1` (a mode, logging to $WORK/$1.log) at `$2` creates a note for
# the token `$3`; fails the run, with the server's log, if it has not within 10 s.
await_server() {
  local code
  for _ in $(seq 50); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' \
      -H "authorization: Bearer $3" -d '{"text":"ping"}' "$2/notes" || true)
    [ "$code" = 201 ] && return
    sleep 0.2
  done
  echo "$1 server answers $code, not 201" >&2
  cat "$WORK/$1.log" >&2
  exit 1
}

# CPU time (user + system) of the process $1 so far, in clock ticks.
cpu_ticks() {
  awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# $1 clock ticks of CPU over $2 requests, in µs per request.
micros_per_request() {
  awk -v t="$1" -v n="$2" -v hz="$CLOCK_TICKS" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }'
}
CLOCK_TICKS=$(getconf CLK_TCK)
