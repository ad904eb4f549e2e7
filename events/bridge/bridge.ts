import type { Consumer, ConsumerCrashEvent, Kafka, KafkaMessage, Producer } from "kafkajs";
import type { RedisOptions } from "ioredis";
import { createRedisClient, type RedisClient, type RedisConnection } from "../../platform/redis.ts";
import type { Logger } from "../../platform/logger.ts";
import { createIdempotentProducer, topicsOf, type DeadLetter } from "../kafka.ts";
import type { DomainEvent } from "../contracts/envelope.ts";
import { STREAM_RETENTION_MS } from "../streams/names.ts";
import type { Health } from "../health.ts";
import type { ConsumerMetrics } from "../metrics.ts";
import { createStreamAppender, type AppendTarget } from "./redis-append.ts";
import { ABANDONED, untilDone, type BatchControl } from "./patient-step.ts";
import { offsetCommits, type OffsetCommits } from "./offset-commits.ts";
import { contextFromTraceparent, currentTraceparent, inSpan, SpanKind } from "../../platform/tracing.ts";

/** What the bridge asks of the event contracts. */
export type EventCheck = (value: string) => { ok: true; event: DomainEvent } | { ok: false; reason: string; errors: readonly string[] };

/**
 * Where a consumer hands each valid event, in order per partition; its offset is committed once
 * `deliver` resolves, so it must be idempotent by event id (a crash replays the last events).
 */
export interface EventSink {
  /** Named in logs and readiness reasons ("Redis", "webhooks"). */
  readonly name: string;
  deliver(event: DomainEvent, payload: string): Promise<{ readonly duplicate?: boolean } | undefined>;
}

export interface BridgeOptions {
  readonly kafka: Kafka;
  /** Where the bridge appends event streams; required unless `sink` replaces the appender. */
  readonly redis?: RedisClient;
  /**
   * Another consumer of the same topics in a group of its own (the integrations runtime): events
   * go to it instead of the Redis streams. @default the stream appender on `redis`
   */
  readonly sink?: EventSink;
  /**
   * Send refused events to the dead-letter topic. A second consumer group of the same topics sets
   * false: the bridge dead-letters them already, and it only logs and skips. @default true
   */
  readonly deadLetter?: boolean;
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
  /** Replicas each append must reach (WAIT) before its offset is committed; see redis-append.ts. @default 0 */
  readonly waitReplicas?: number;
  /** Read topics from the beginning when the group has no offsets yet. @default true */
  readonly fromBeginning?: boolean;
  /** The Kafka session: a member that does not heartbeat for this long is dropped from the group. @default 10_000 */
  readonly sessionTimeoutMs?: number;
  /** An append failing (Redis away) for this long makes the bridge not ready. @default 5_000 */
  readonly stalledAfterMs?: number;
  /** Consumers rebuilt in a row without a group join in between before the bridge gives up (`failed`). @default 10 */
  readonly maxRebuilds?: number;
  /** Counts what is handled and reports the consumer lag, labelled with `groupId` (events/metrics.ts). @default none */
  readonly metrics?: ConsumerMetrics;
}

export interface Bridge {
  /** Resolves once the consumer has joined its group and fetched from its partitions. */
  readonly ready: Promise<void>;
  /** The readiness an entry point serves: consuming, or why not. */
  health(): Health;
  /**
   * Resolves with the reason once the bridge has given up consuming for good: its process should
   * exit non-zero so that its supervisor starts a new one. Never resolves otherwise.
   */
  readonly failed: Promise<Error>;
  dispose(): Promise<void>;
}

/**
 * The bridge's own Redis connection, as events/main.ts makes it. Commands wait through a Redis
 * outage rather than fail after a few reconnects (the bridge retries anyway, heartbeating meanwhile),
 * and connecting is retried every second at most, so an append goes through soon after Redis is back.
 */
export function bridgeRedis(connection: string | RedisConnection, options: RedisOptions = {}): RedisClient {
  const redis = createRedisClient(typeof connection === "string" ? { url: connection } : connection, {
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(100 * times, 1_000),
    ...options,
  });
  // Errors are logged by the append retries; without a listener ioredis prints every reconnect attempt.
  redis.on("error", () => undefined);
  return redis;
}

function stringOf(value: unknown): string | null {
  return typeof value === "string" && value.length > 0 ? value : null;
}

/** Where a validated event goes: its organisation's stream, and its board's when it names one. */
export function appendTargetOf(event: DomainEvent, payload: string, traceparent: string | null | undefined = currentTraceparent()): AppendTarget {
  const data = event.data as Record<string, unknown>;
  return {
    eventId: event.eventId,
    eventType: event.eventType,
    organizationId: event.metadata.organizationId,
    boardId: stringOf(data.boardId),
    payload,
    traceparent,
  };
}

/** The bridge's own sink: the organisation's and board's Redis Streams. */
function streamSink(options: BridgeOptions, groupId: string): EventSink {
  if (!options.redis) throw new Error("the bridge needs a Redis connection (or a sink)");
  const appender = createStreamAppender(options.redis, {
    consumerGroup: groupId,
    retentionMs: options.retentionMs ?? STREAM_RETENTION_MS,
    seenTtlSeconds: options.seenTtlSeconds ?? 7 * 24 * 3600,
    keyPrefix: options.keyPrefix,
    waitReplicas: options.waitReplicas,
    logger: options.logger,
  });
  return { name: "Redis", deliver: (event, payload) => appender.append(appendTargetOf(event, payload)) };
}

/**
 * Kafka -> Redis (or another sink, in a consumer group of its own). Each event is validated (a refused one goes to the dead-letter topic with the
 * reason), appended once (duplicates dropped by event id) to its organisation's and board's Redis
 * Streams with a pub/sub wake-up, and only then is its offset committed (in the background, within
 * 100 ms: offset-commits.ts): a crash replays, never skips.
 *
 * Outages: an append that fails is retried with backoff for as long as Redis is away, the consumer
 * heartbeating meanwhile (see patient-step.ts), so it keeps its partitions and commits once Redis
 * is back. Should kafkajs still give a consumer up for good (a crash it does not restart), the
 * bridge builds a new one in the same group, which resumes from the committed offsets; after
 * `maxRebuilds` failed rebuilds `failed` resolves and the process should exit non-zero.
 */
export async function startBridge(options: BridgeOptions): Promise<Bridge> {
  const { logger } = options;
  const groupId = options.groupId ?? "sunday-bridge";
  const sessionTimeout = options.sessionTimeoutMs ?? 10_000;
  const stalledAfterMs = options.stalledAfterMs ?? 5_000;
  const maxRebuilds = options.maxRebuilds ?? 10;
  const sink = options.sink ?? streamSink(options, groupId);
  const producer: Producer = createIdempotentProducer(options.kafka);
  const topics = topicsOf(options.topicPrefix);
  // Heartbeats at a fifth of the session: four can be lost before the member is.
  const heartbeatEveryMs = Math.max(100, Math.min(1_000, Math.floor(sessionTimeout / 5)));

  let resolveReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    resolveReady = resolve;
  });
  let resolveFailed: (error: Error) => void = () => undefined;
  const failed = new Promise<Error>((resolve) => {
    resolveFailed = resolve;
  });

  let state: "starting" | "consuming" | "rebuilding" | "failed" | "stopped" = "starting";
  let stateReason = "joining the consumer group";
  /** Since when handing events to the sink has been failing (Redis away), and the last error; null while it works. */
  let appendTrouble: { since: number; error: string } | null = null;
  /** When each append in progress started (one per partition at most): a Redis that does not answer shows here, not as a failure. */
  const appending = new Set<{ readonly since: number }>();
  let rebuilds = 0;
  let rebuildsInARow = 0;
  let stopping = false;
  let consumer: Consumer | null = null;
  let commits: OffsetCommits | null = null;

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

  /** Handles one message; false when it was abandoned (not to be committed). */
  async function handle(topic: string, message: KafkaMessage, control: BatchControl): Promise<boolean> {
    const value = message.value?.toString("utf8") ?? "";
    const verdict = options.check(value);
    if (!verdict.ok) {
      if (options.deadLetter ?? true) {
        await deadLetter(topic, message, verdict.reason, verdict.errors);
        options.metrics?.onMessage(groupId, "dead_lettered");
      } else {
        logger.warn({ topic, offset: message.offset, reason: verdict.reason }, "event refused; skipped (dead-lettered by the bridge)");
        options.metrics?.onMessage(groupId, "skipped");
      }
      return true;
    }
    const event = verdict.event;
    const started = { since: Date.now() };
    appending.add(started);
    // The append continues the relay's publish span (its context is in the record's headers).
    const traceparent = message.headers?.traceparent?.toString();
    const attributes = () => ({ "messaging.destination.name": topic, "sunday.event_id": event.eventId, "sunday.sink": sink.name });
    const consumed = <T>(work: () => Promise<T>) =>
      traceparent
        ? inSpan("bridge", `${sink.name} deliver`, { kind: SpanKind.CONSUMER, parent: contextFromTraceparent(traceparent), attributes }, work)
        : work();
    const result = await consumed(() =>
      untilDone(() => sink.deliver(event, value), control, {
        heartbeatEveryMs,
        initialBackoffMs: 200,
        maxBackoffMs: 2_000,
        onFailure(error, attempt) {
          appendTrouble ??= { since: Date.now(), error: "" };
          appendTrouble.error = error instanceof Error ? error.message : String(error);
          if (attempt === 1) logger.warn({ err: error, eventId: event.eventId }, `handing an event to ${sink.name} failed; retrying until it works`);
        },
      }),
    ).finally(() => appending.delete(started));
    if (result === ABANDONED) return false;
    if (appendTrouble) {
      logger.info({ outageMs: Date.now() - appendTrouble.since }, `handing events to ${sink.name} works again`);
      appendTrouble = null;
    }
    if (result?.duplicate) logger.debug({ eventId: event.eventId }, "duplicate event dropped");
    options.metrics?.onMessage(groupId, result?.duplicate ? "duplicate" : "delivered", event.metadata.timestamp);
    return true;
  }

  async function startConsumer(): Promise<void> {
    const created = options.kafka.consumer({ groupId, sessionTimeout, heartbeatInterval: heartbeatEveryMs });
    // The current consumer from here on: a crash while it first joins must already be handled as its.
    consumer = created;
    const committer = offsetCommits(created, logger);
    commits = committer;
    // Ready once the group is joined and a first fetch has resolved the starting offsets: an event
    // produced after `ready` is then read even by a new group that starts at the latest offset.
    let joined = false;
    created.on(created.events.GROUP_JOIN, () => {
      joined = true;
      rebuildsInARow = 0;
      options.metrics?.onRebalance(groupId);
      state = "consuming";
    });
    created.on(created.events.FETCH, () => {
      if (joined) resolveReady();
    });
    created.on(created.events.CRASH, (event: ConsumerCrashEvent) => onCrash(created, event));
    try {
      await created.connect();
      await created.subscribe({ topics: [...topics.domain], fromBeginning: options.fromBeginning ?? true });
      await created.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 3,
        eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
          const control: BatchControl = { heartbeat, isRunning, isStale };
          // The lag as Kafka handed the batch over (high watermark minus the next offset to handle), then per message.
          const highWatermark = Number(batch.highWatermark);
          const first = batch.firstOffset();
          if (first !== null) options.metrics?.onLag(groupId, batch.topic, batch.partition, highWatermark - Number(first));
          for (const message of batch.messages) {
            if (!isRunning() || isStale()) return;
            if (!(await handle(batch.topic, message, control))) return;
            committer.handled(batch.topic, batch.partition, message.offset);
            resolveOffset(message.offset);
            options.metrics?.onLag(groupId, batch.topic, batch.partition, highWatermark - Number(message.offset) - 1);
            await heartbeat();
          }
        },
      });
    } catch (error) {
      await created.disconnect().catch(() => undefined);
      throw error;
    }
  }

  /**
   * A new group that starts at the latest offsets commits them before it consumes: "latest" is then
   * fixed at this start, and a consumer rebuilt after a crash (or a restarted bridge) resumes there
   * instead of at a later "latest", which would skip what arrived in between. Partitions with a
   * committed offset keep it. If the group already has running members, kafkajs's own rule applies.
   */
  async function pinStartingOffsets(): Promise<void> {
    const admin = options.kafka.admin();
    await admin.connect();
    try {
      for (const { topic, partitions } of await admin.fetchOffsets({ groupId, topics: [...topics.domain] })) {
        const missing = partitions.filter((partition) => partition.offset === "-1");
        if (missing.length === 0) continue;
        const ends = new Map((await admin.fetchTopicOffsets(topic)).map((end) => [end.partition, end.high]));
        await admin.setOffsets({ groupId, topic, partitions: missing.map(({ partition }) => ({ partition, offset: ends.get(partition) ?? "0" })) });
      }
    } catch (error) {
      logger.warn({ err: error }, "could not commit the starting offsets of a new group");
    } finally {
      await admin.disconnect();
    }
  }

  /** kafkajs restarts a consumer after a retriable crash by itself; after any other, the bridge builds a new one. */
  function onCrash(crashed: Consumer, event: ConsumerCrashEvent): void {
    const { error, restart } = event.payload;
    if (stopping || crashed !== consumer) return;
    if (restart) {
      logger.warn({ err: error }, "the Kafka consumer crashed; kafkajs restarts it");
      state = "rebuilding";
      stateReason = `consumer restarting after: ${error.message}`;
      return;
    }
    logger.error({ err: error }, "the Kafka consumer was given up (non-retriable crash); building a new one");
    void rebuild(error);
  }

  async function rebuild(cause: Error): Promise<void> {
    state = "rebuilding";
    stateReason = `consumer rebuilt after: ${cause.message}`;
    for (;;) {
      if (stopping) return;
      rebuilds += 1;
      rebuildsInARow += 1;
      if (rebuildsInARow > maxRebuilds) {
        state = "failed";
        stateReason = `gave up after ${maxRebuilds} consumer rebuilds: ${cause.message}`;
        logger.error({ err: cause }, stateReason);
        resolveFailed(new Error(stateReason, { cause }));
        return;
      }
      try {
        await commits?.close();
        await consumer?.disconnect().catch(() => undefined);
        await startConsumer();
        return;
      } catch (error) {
        cause = error instanceof Error ? error : new Error(String(error));
        logger.error({ err: error }, "building a new Kafka consumer failed; retrying");
        await new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** rebuildsInARow, 10_000)));
      }
    }
  }

  await producer.connect();
  if (!(options.fromBeginning ?? true)) await pinStartingOffsets();
  await startConsumer();

  return {
    ready,
    failed,
    health() {
      const now = Date.now();
      const oldestAppend = Math.min(now, ...[...appending].map((append) => append.since));
      const details = { state, rebuilds, appendFailingForMs: appendTrouble ? now - appendTrouble.since : 0, appendPendingForMs: now - oldestAppend };
      if (state !== "consuming") return { ready: false, reason: stateReason, details };
      if (appendTrouble && now - appendTrouble.since >= stalledAfterMs) {
        return { ready: false, reason: `handing events to ${sink.name} has failed for ${now - appendTrouble.since} ms: ${appendTrouble.error}`, details };
      }
      if (now - oldestAppend >= stalledAfterMs) {
        return { ready: false, reason: `handing an event to ${sink.name} has been waiting for ${now - oldestAppend} ms`, details };
      }
      return { ready: true, details };
    },
    async dispose() {
      stopping = true;
      state = "stopped";
      stateReason = "stopped";
      await commits?.close();
      await consumer?.disconnect();
      await producer.disconnect();
    },
  };
}
