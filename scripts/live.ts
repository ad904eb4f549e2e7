import type { RedisClient } from "../platform/redis.ts";
import { startPipeline, type PipelineConsumer } from "../events/pipeline.ts";
import { MemoryEventStore } from "../events/streams/memory-store.ts";
import { redisFeed } from "../events/streams/redis-feed.ts";
import { memoryPresenceStore, redisPresenceStore, type SubscriptionsSetup } from "../gateway/src/subscriptions/index.ts";
import type { Logger } from "../platform/logger.ts";

export interface LiveEvents {
  /** For the gateway's `subscriptions` option. */
  readonly subscriptions: SubscriptionsSetup;
  /** Which pipeline runs: "kafka" (relay -> Kafka -> bridge -> Redis) or "in-process". */
  readonly mode: "kafka" | "in-process";
  /** Has the relay look for new outbox rows now (a mutation was just committed in this process). */
  wake(): void;
  dispose(): Promise<void>;
}

/**
 * The event pipeline of `npm start`, in this process (events/pipeline.ts). With KAFKA_BROKERS and
 * REDIS_URL it is the production one (outbox relay -> Kafka -> bridge -> Redis Streams); otherwise
 * the relay hands events straight to the streams (Redis when REDIS_URL is set, else in-process)
 * through the same contract check: the gateway's subscriptions read them the same way in either case.
 */
export async function startLiveEvents(options: {
  readonly databaseUrl: string;
  readonly redis?: RedisClient;
  readonly kafkaBrokers?: string[];
  /** The relay's safety poll; the embedded PGlite does not pass NOTIFY between connections, so it polls often. @default 1_000 */
  readonly pollIntervalMs?: number;
  /** Other readers of the events (the integrations runtime), in their own consumer groups over Kafka. */
  readonly consumers?: readonly PipelineConsumer[];
  readonly logger: Logger;
}): Promise<LiveEvents> {
  const { redis, logger } = options;
  const memory = redis ? null : new MemoryEventStore();
  const mode: LiveEvents["mode"] = redis && options.kafkaBrokers?.length ? "kafka" : "in-process";
  const pipeline = await startPipeline({
    transport: mode,
    databaseUrl: options.databaseUrl,
    redis,
    appender: memory ?? undefined,
    brokers: options.kafkaBrokers,
    clientId: "sunday-start",
    // The in-process appender keeps its seen-markers under the name `npm start` always used.
    bridge: mode === "in-process" ? { groupId: "sunday-start" } : undefined,
    relay: { pollIntervalMs: options.pollIntervalMs },
    consumers: options.consumers,
    logger,
  });
  return {
    mode,
    subscriptions: { feed: redis ? redisFeed(redis) : (memory as MemoryEventStore), presence: redis ? redisPresenceStore(redis) : memoryPresenceStore() },
    wake: () => void pipeline.relay?.drain(),
    dispose: () => pipeline.close(),
  };
}
