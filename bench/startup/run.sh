#!/usr/bin/env bash
# Start-up time and memory of `npm start` (the embedded default): wall time from the command to the
# "Sunday API is up" line, and the RSS of the stack's Node process at that moment and 5 s later.
# Runs it cold (no .data/: PGlite created, migrations applied, demo seeded) and then warm, N times.
# Usage: bash bench/startup/run.sh [runs=3]   (from the repository root; leaves .data/ as it was)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-3}
DATA=$(mktemp -d)
export PGLITE_DATA_DIR="$DATA/pglite"
# Ports that no `npm start` in another terminal uses.
export PORT=4600 USERS_PORT=4601 PROJECTS_PORT=4602 ITEMS_PORT=4603 INTEGRATIONS_PORT=4604
trap 'rm -rf "$DATA"' EXIT

# The Node process that runs scripts/start.ts (npm runs it through sh).
stack_pid() {
  local pid=""
  until [ -n "$pid" ]; do pid=$(pgrep -f '^node .*scripts/start\.(ts|js)' | head -n 1 || true); done
  echo "$pid"
}
rss_mb() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

one() {
  local label=$1 log=$DATA/log start end pid
  start=$(date +%s%N)
  npm start >"$log" 2>&1 &
  local npm_pid=$!
  until grep -q "Sunday API is up" "$log"; do
    kill -0 "$npm_pid" 2>/dev/null || { cat "$log" >&2; echo "npm start exited" >&2; exit 1; }
    sleep 0.05
  done
  end=$(date +%s%N)
  pid=$(stack_pid)
  local rss_up; rss_up=$(rss_mb "$pid")
  sleep 5
  local rss_idle; rss_idle=$(rss_mb "$pid")
  printf '%-5s wall %5.2f s   printed: %s   RSS at up %s MB, 5 s later %s MB   (%s)\n' "$label" \
    "$(echo "($end - $start) / 1000000000" | bc -l)" "$(grep -o 'up in [0-9.]* s' "$log")" "$rss_up" "$rss_idle" "$("$(dirname "$(readlink -f /proc/$pid/exe)")/node" --version 2>/dev/null || echo node)"
  kill -TERM "$npm_pid" "$pid" 2>/dev/null || true
  wait "$npm_pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
}

for i in $(seq 1 "$RUNS"); do
  rm -rf "$DATA/pglite"
  one cold
  one warm
done
