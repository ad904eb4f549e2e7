import type { Redis } from "ioredis";
import { createStreamAppender } from "../events/bridge/redis-append.ts";
import { startBridge } from "../events/bridge/bridge.ts";
import { parseEventMessage, validateEvent } from "../events/contracts/registry.ts";
import { inProcessPublisher } from "../events/in-process.ts";
import { createIdempotentProducer, createKafka, ensureTopics } from "../events/kafka.ts";
import { kafkaPublisher, type EventPublisher } from "../events/publisher.ts";
import { startOutboxRelay } from "../events/relay/outbox-relay.ts";
import { MemoryEventStore } from "../events/streams/memory-store.ts";
import { redisFeed } from "../events/streams/redis-feed.ts";
import { memoryPresenceStore, redisPresenceStore, type SubscriptionsSetup } from "../gateway/src/subscriptions/index.ts";
import type { Logger } from "../platform/logger.ts";

export interface LiveEvents {
  /** For the gateway's `subscriptions` option. */
  readonly subscriptions: SubscriptionsSetup;
  /** Which pipeline runs: "kafka" (relay -> Kafka -> bridge -> Redis) or "in-process". */
  readonly mode: "kafka" | "in-process";
  dispose(): Promise<void>;
}

/**
 * The event pipeline of `npm start`, in this process. With KAFKA_BROKERS and REDIS_URL it is the
 * production one (outbox relay -> Kafka -> bridge -> Redis Streams); otherwise the relay hands
 * events straight to the streams (Redis when REDIS_URL is set, else in-process) through the same
 * contract check: the gateway's subscriptions read them the same way in either case.
 */
export async function startLiveEvents(options: {
  readonly databaseUrl: string;
  readonly redis?: Redis;
  readonly kafkaBrokers?: string[];
  /** The relay's safety poll; the embedded PGlite does not pass NOTIFY between connections, so it polls often. @default 1_000 */
  readonly pollIntervalMs?: number;
  readonly logger: Logger;
}): Promise<LiveEvents> {
  const { redis, logger } = options;
  const memory = redis ? null : new MemoryEventStore();
  const feed = redis ? redisFeed(redis) : (memory as MemoryEventStore);
  const presence = redis ? redisPresenceStore(redis) : memoryPresenceStore();
  const stops: (() => Promise<void>)[] = [];
  let publisher: EventPublisher;
  let mode: LiveEvents["mode"] = "in-process";
  if (redis && options.kafkaBrokers?.length) {
    mode = "kafka";
    const kafka = createKafka("sunday-start", options.kafkaBrokers);
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin);
    await admin.disconnect();
    const producer = createIdempotentProducer(kafka);
    await producer.connect();
    stops.push(() => producer.disconnect());
    const bridge = await startBridge({ kafka, redis, check: parseEventMessage, logger });
    stops.push(() => bridge.dispose());
    publisher = kafkaPublisher(producer);
  } else {
    const appender = redis ? createStreamAppender(redis, { consumerGroup: "sunday-start", retentionMs: 24 * 3600_000, seenTtlSeconds: 7 * 24 * 3600 }) : (memory as MemoryEventStore);
    publisher = inProcessPublisher({ appender, check: parseEventMessage, logger });
  }
  const relay = await startOutboxRelay({ databaseUrl: options.databaseUrl, publisher, check: validateEvent, logger, pollIntervalMs: options.pollIntervalMs });
  stops.unshift(() => relay.dispose());
  return {
    mode,
    subscriptions: { feed, presence },
    async dispose() {
      for (const stop of stops) await stop();
    },
  };
}
