import type { Consumer, Kafka, KafkaMessage, Producer } from "kafkajs";
import type { Redis } from "ioredis";
import type { Logger } from "../../subgraphs/shared/logger.ts";
import { createIdempotentProducer, topicsOf, type DeadLetter } from "../kafka.ts";
import type { DomainEvent } from "../../subgraphs/shared/outbox.ts";
import { createStreamAppender, type AppendTarget } from "./redis-append.ts";

/** What the bridge asks of the event contracts. */
export type EventCheck = (value: string) => { ok: true; event: DomainEvent } | { ok: false; reason: string; errors: readonly string[] };

export interface BridgeOptions {
  readonly kafka: Kafka;
  readonly redis: Redis;
  readonly check: EventCheck;
  readonly logger: Logger;
  /** @default "sunday-bridge" */
  readonly groupId?: string;
  /** How long streams keep events for resuming clients. @default 24 h */
  readonly retentionMs?: number;
  /** How long an event id is remembered to drop duplicates; longer than Kafka can replay. @default 7 days */
  readonly seenTtlSeconds?: number;
  /** Namespace of the topics read and dead-lettered to (see topicsOf). @default "" */
  readonly topicPrefix?: string;
  /** Namespaces every Redis key and channel the bridge writes (see streamsOf). @default "" */
  readonly keyPrefix?: string;
  /** Read topics from the beginning when the group has no offsets yet. @default true */
  readonly fromBeginning?: boolean;
}

export interface Bridge {
  /** Resolves once the consumer has joined its group and fetched from its partitions. */
  readonly ready: Promise<void>;
  dispose(): Promise<void>;
}

function stringOf(value: unknown): string | null {
  return typeof value === "string" && value.length > 0 ? value : null;
}

/** Where a validated event goes: its organisation's stream, and its board's when it names one. */
export function appendTargetOf(event: DomainEvent, payload: string): AppendTarget {
  const data = event.data as Record<string, unknown>;
  return {
    eventId: event.eventId,
    eventType: event.eventType,
    organizationId: event.metadata.organizationId,
    boardId: stringOf(data.boardId),
    itemId: stringOf(data.itemId),
    payload,
  };
}

/**
 * Kafka -> Redis. Each event is validated (a refused one goes to the dead-letter topic with the
 * reason), appended once (duplicates dropped by event id) to its organisation's and board's Redis
 * Streams with a pub/sub wake-up, and only then is its offset committed: a crash replays, never skips.
 */
export async function startBridge(options: BridgeOptions): Promise<Bridge> {
  const { logger } = options;
  const groupId = options.groupId ?? "sunday-bridge";
  const appender = createStreamAppender(options.redis, {
    consumerGroup: groupId,
    retentionMs: options.retentionMs ?? 24 * 3600_000,
    seenTtlSeconds: options.seenTtlSeconds ?? 7 * 24 * 3600,
    keyPrefix: options.keyPrefix,
  });
  const producer: Producer = createIdempotentProducer(options.kafka);
  const consumer: Consumer = options.kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  await producer.connect();
  await consumer.connect();
  const topics = topicsOf(options.topicPrefix);
  await consumer.subscribe({ topics: [...topics.domain], fromBeginning: options.fromBeginning ?? true });

  let resolveReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    resolveReady = resolve;
  });
  // Ready once the group is joined and a first fetch has resolved the starting offsets: an event
  // produced after `ready` is then read even by a new group that starts at the latest offset.
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joined = true;
  });
  consumer.on(consumer.events.FETCH, () => {
    if (joined) resolveReady();
  });

  async function deadLetter(topic: string, message: KafkaMessage, reason: string, errors: readonly string[]) {
    const original = message.value?.toString("utf8") ?? "";
    const record: DeadLetter = { reason, errors, source: `kafka:${topic}`, original, refusedAt: new Date().toISOString() };
    await producer.send({
      topic: topics.deadLetter,
      acks: -1,
      messages: [{ key: message.key, value: JSON.stringify(record), headers: { reason, sourceTopic: topic } }],
    });
    logger.warn({ topic, offset: message.offset, reason }, "event refused; sent to the dead-letter topic");
  }

  async function handle(topic: string, message: KafkaMessage): Promise<void> {
    const value = message.value?.toString("utf8") ?? "";
    const verdict = options.check(value);
    if (!verdict.ok) return deadLetter(topic, message, verdict.reason, verdict.errors);
    const result = await appender.append(appendTargetOf(verdict.event, value));
    if (result.duplicate) logger.debug({ eventId: verdict.event.eventId }, "duplicate event dropped");
  }

  await consumer.run({
    autoCommit: false,
    partitionsConsumedConcurrently: 3,
    eachMessage: async ({ topic, partition, message }) => {
      await handle(topic, message);
      await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
    },
  });

  return {
    ready,
    async dispose() {
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}
