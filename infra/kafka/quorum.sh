#!/usr/bin/env bash
# kafka-metadata-quorum from the jars start.sh fetched (run start.sh once first), e.g.
#   bash infra/kafka/quorum.sh --bootstrap-server 127.0.0.1:9092 describe --status
# prints the KRaft controller quorum: LeaderId (the active controller), LeaderEpoch, CurrentVoters…
set -euo pipefail
KDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
compgen -G "$KDIR/lib/kafka-tools-*.jar" >/dev/null || { echo "[kafka] $KDIR/lib has no kafka-tools jar: run infra/kafka/start.sh first" >&2; exit 1; }
# A short-lived client: small heap, C1 only (it starts in about a second).
exec java -Xms32m -Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC "-Dlog4j2.configurationFile=file:$KDIR/log4j2-tools.properties" \
  -cp "$KDIR/lib/*" org.apache.kafka.tools.MetadataQuorumCommand "$@"
