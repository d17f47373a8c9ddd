#!/usr/bin/env bash
# Cold start of `npm start` on the embedded database: the time from the command to /readyz 200,
# on an empty data folder (initdb, migrations) and then on the same folder again; after the
# second start, the idle RSS of the Slipway process and the PSS of the embedded PostgreSQL
# (postmaster and its children) after 30 s. A measurement, not a timed test.
#
# Run: npm run bench:cold-start      (START="node bin/slipway.js start" for the compiled build;
#                                     RUNS="1 2 3" repetitions; PORT, default 3990)
set -u
cd "$(dirname "$0")/../.."
export PATH=$PWD/node_modules/.bin:$PATH
PORT=${PORT:-3990}
START=${START:-npm start}
work=$(mktemp -d /tmp/slipway-cold-start.XXXXXX)
chmod 711 "$work" # as root, the embedded PostgreSQL runs as the postgres user and must get in
trap 'rm -rf "$work"' EXIT

if ss -ltnH "sport = :$PORT" | grep -q .; then echo "port $PORT is taken; set PORT" >&2; exit 1; fi

run() {
  local dir=$1 label=$2 measure_idle=$3
  local t0 t1 pid
  t0=$(date +%s%N)
  # Its own process group: npm exits before its node child has shut down, so the whole group
  # is signalled and the next start waits for the port to be free.
  PORT=$PORT SLIPWAY_DATA_DIR=$dir LOG_FORMAT=json setsid $START >"$work/$label.log" 2>&1 &
  pid=$!
  until curl -fs "localhost:$PORT/readyz" >/dev/null 2>&1; do
    kill -0 $pid 2>/dev/null || { echo "$label: exited before ready"; cat "$work/$label.log"; return 1; }
    sleep 0.02
  done
  t1=$(date +%s%N)
  printf '%-9s ready_ms=%d\n' "$label" $(((t1 - t0) / 1000000))
  if [ "$measure_idle" = yes ]; then
    sleep 30
    local node_pid pm pss
    node_pid=$(ss -ltnpH "sport = :$PORT" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
    pm=$(pgrep -f -- "-D $dir/postgres" | head -1)
    pss=$(for p in $pm $(pgrep -P "$pm"); do awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup"; done | awk '{s+=$1} END{print s}')
    echo "idle      slipway_rss_mb=$(($(awk '/VmRSS/{print $2}' "/proc/$node_pid/status") / 1024)) embedded_postgres_pss_mb=$((pss / 1024))"
  fi
  kill -TERM -- -$pid
  wait $pid 2>/dev/null
  while ss -ltnH "sport = :$PORT" | grep -q . || pgrep -f -- "-D $dir/postgres" >/dev/null; do sleep 0.05; done
}

idle=yes # measured once, after the first repetition's second start
for i in ${RUNS:-1 2 3}; do
  run "$work/data-$i" "first-$i" no
  run "$work/data-$i" "second-$i" $idle
  idle=no
done
