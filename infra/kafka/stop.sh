#!/usr/bin/env bash
# Stops the broker started by infra/kafka/start.sh (pid file in $KAFKA_DATA_DIR), or every node of
# a cluster it started there (KAFKA_NODES > 1: $KAFKA_DATA_DIR/node-*/kafka.pid).
set -euo pipefail

DATA_DIR=${KAFKA_DATA_DIR:-/tmp/sunday-kafka}
PID_FILE="$DATA_DIR/kafka.pid"
TIMEOUT=${KAFKA_STOP_TIMEOUT:-60}

log() { echo "[kafka] $*" >&2; }

# A cluster (KAFKA_NODES > 1): every node of the data dir.
if compgen -G "$DATA_DIR/node-*" >/dev/null; then
  # shellcheck source=cluster.sh
  source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/cluster.sh"
  t0=$(date +%s%N)
  stop_cluster
  log "stopped ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
  exit 0
fi

if [[ ! -f "$PID_FILE" ]]; then
  log "not running (no $PID_FILE)"
  exit 0
fi
pid=$(cat "$PID_FILE")
if ! [[ "$pid" =~ ^[0-9]+$ ]] || ! kill -0 "$pid" 2>/dev/null \
  || ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka'; then
  log "not running (stale pid file)"
  rm -f "$PID_FILE"
  exit 0
fi

t0=$(date +%s%N)
log "stopping broker pid $pid ..."
kill -TERM "$pid"
deadline=$(( $(date +%s) + TIMEOUT ))
while kill -0 "$pid" 2>/dev/null; do
  if (( $(date +%s) >= deadline )); then
    log "still running after ${TIMEOUT}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 1
    break
  fi
  sleep 0.2
done
rm -f "$PID_FILE"
log "stopped ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
