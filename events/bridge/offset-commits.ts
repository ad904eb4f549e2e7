import type { Consumer } from "kafkajs";
import type { Logger } from "../../platform/logger.ts";

/** Commits a consumer's handled offsets in the background. */
export interface OffsetCommits {
  /** `offset` of `topic`/`partition` was handled: the next offset to read is `offset + 1`. */
  handled(topic: string, partition: number, offset: string): void;
  /** Commits what is handled now and stops; the consumer is about to leave. */
  close(): Promise<void>;
}

/**
 * Commits each partition's last handled offset at most every `everyMs`, rather than one commit
 * request per message: at a few events a second that was one more Kafka round trip per event, on
 * the bridge and the broker. What a crash leaves uncommitted (at most `everyMs` of events) is read
 * again and dropped as a duplicate by event id (the sinks are idempotent), as a crash between the
 * sink and a per-message commit already was. A failed commit (a rebalance took the partition) is
 * the same case: the next owner reads from the last commit.
 */
export function offsetCommits(consumer: Consumer, logger: Logger, everyMs = 100): OffsetCommits {
  const pending = new Map<string, { topic: string; partition: number; offset: string }>();
  let timer: NodeJS.Timeout | null = null;
  let committing: Promise<void> = Promise.resolve();

  function commit(): Promise<void> {
    timer = null;
    if (pending.size === 0) return committing;
    const offsets = [...pending.values()];
    pending.clear();
    committing = committing
      .then(() => consumer.commitOffsets(offsets))
      .catch((error: unknown) =>
        logger.warn({ err: error, offsets }, "committing offsets failed; the events after the last commit will be read again (and dropped as duplicates)"),
      );
    return committing;
  }

  return {
    handled(topic, partition, offset) {
      pending.set(`${topic}\u0000${partition}`, { topic, partition, offset: (BigInt(offset) + 1n).toString() });
      timer ??= setTimeout(() => void commit(), everyMs);
    },
    async close() {
      if (timer) clearTimeout(timer);
      await commit();
    },
  };
}
