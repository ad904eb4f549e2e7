// The event pipeline, wired once: outbox relay -> Kafka -> bridge -> Redis streams, or the relay
// straight into the streams in process. events/main.ts runs one half per process, `npm start`
// (scripts/live.ts) both or the in-process one, the tests (test/support/live.ts) and the
// subscription benchmarks both on namespaced topics and keys.
import type { Kafka, Producer } from "kafkajs";
import type { Registry } from "prom-client";
import type { RedisClient } from "../platform/redis.ts";
import type { Logger } from "../platform/logger.ts";
import { startBridge, type Bridge, type BridgeOptions, type EventCheck, type EventSink } from "./bridge/bridge.ts";
import { createStreamAppender, type StreamAppender } from "./bridge/redis-append.ts";
import { parseEventMessage, validateEvent } from "./contracts/registry.ts";
import type { Health } from "./health.ts";
import { type InProcessPublisher, inProcessPublisher } from "./in-process.ts";
import { createIdempotentProducer, createKafka, ensureTopicsOf, kafkaBrokers, topicsOf } from "./kafka.ts";
import { createPipelineMetrics } from "./metrics.ts";
import { kafkaPublisher, type EventPublisher } from "./publisher.ts";
import { startOutboxRelay, type EnvelopeCheck, type OutboxRelay, type OutboxRelayOptions } from "./relay/outbox-relay.ts";
import { STREAM_RETENTION_MS } from "./streams/names.ts";

export type PipelinePart = "relay" | "bridge" | "consumers";

/**
 * Another reader of the domain events (the integrations runtime): over Kafka, a consumer in a
 * group of its own, committing after its sink; in process, called by the publisher after the
 * streams' append, so an event reaches it only once it is committed in the outbox either way.
 */
export interface PipelineConsumer {
  /** Its consumer group over Kafka. */
  readonly groupId: string;
  readonly sink: EventSink;
  /** Read from the beginning when the group has no offsets yet. @default true */
  readonly fromBeginning?: boolean;
}

export interface PipelineOptions {
  /** Which parts run in this process. @default ["relay", "bridge", "consumers"] */
  readonly parts?: readonly PipelinePart[];
  /**
   * "kafka": the relay publishes to Kafka, the bridge appends what it consumes to Redis.
   * "in-process": no Kafka; the relay's events are checked and appended to `appender` at once
   * (the embedded default of `npm start`), and `parts` must include the relay. @default "kafka"
   */
  readonly transport?: "kafka" | "in-process";
  /** The database whose outbox the relay publishes; required when the relay runs. */
  readonly databaseUrl?: string;
  /** Where the bridge appends (the caller's connection: it closes it); required when the Kafka bridge runs. */
  readonly redis?: RedisClient;
  /** In-process: where events are appended. @default a Redis stream appender on `redis` (required then) */
  readonly appender?: StreamAppender;
  /** The Kafka client, for callers that tune it. @default createKafka(clientId, brokers) */
  readonly kafka?: Kafka;
  /** @default KAFKA_BROKERS (platform/config.ts) */
  readonly brokers?: readonly string[];
  /** @default "sunday-events" */
  readonly clientId?: string;
  /** Namespace of every topic (see topicsOf): pipelines sharing a broker stay apart. @default "" */
  readonly topicPrefix?: string;
  /** Create missing topics before starting. @default true (Kafka transport) */
  readonly ensureTopics?: boolean;
  readonly logger: Logger;
  /** Relay tuning passed through (OutboxRelayOptions' defaults). */
  readonly relay?: Pick<OutboxRelayOptions, "pollIntervalMs" | "batchSize" | "stalledAfterMs" | "keepPublishedMs">;
  /**
   * Bridge tuning passed through (BridgeOptions' defaults: group "sunday-bridge", from the
   * beginning, no key prefix). In-process, `groupId`, `keyPrefix`, `retentionMs` and
   * `seenTtlSeconds` shape the default appender the same way.
   */
  readonly bridge?: Pick<
    BridgeOptions,
    "groupId" | "fromBeginning" | "keyPrefix" | "retentionMs" | "seenTtlSeconds" | "sessionTimeoutMs" | "stalledAfterMs" | "maxRebuilds" | "waitReplicas"
  > & {
    /** Resolve start (and restartBridge) only once the consumer has joined its group and fetched. @default false */
    readonly awaitReady?: boolean;
  };
  /** Readers of the events besides the streams (see PipelineConsumer); run with the "consumers" part. @default none */
  readonly consumers?: readonly PipelineConsumer[];
  /** Wraps what the relay publishes through (benchmarks time each batch). @default none */
  readonly wrapPublisher?: (publisher: EventPublisher) => EventPublisher;
  /** The relay's contract check. @default validateEvent */
  readonly envelopeCheck?: EnvelopeCheck;
  /** The bridge's (and the in-process publisher's) contract check. @default parseEventMessage */
  readonly eventCheck?: EventCheck;
  /** Where the relay's and the consumers' metrics are registered (events/metrics.ts); removed again on close. @default none */
  readonly metrics?: Registry;
}

export interface Pipeline {
  readonly transport: "kafka" | "in-process";
  /** The Kafka client (null in process). */
  readonly kafka: Kafka | null;
  /** The running relay, if this process runs one (replaceable, as `bridge`). */
  relay: OutboxRelay | null;
  /**
   * The running bridge, if this process runs one. A caller may put a bridge it started itself
   * here (a test that rewinds offsets): `close()` and `restartBridge()` dispose whatever is here.
   */
  bridge: Bridge | null;
  /** The running consumers' Kafka consumers (none in process). */
  readonly consumers: readonly Bridge[];
  /** Every running part's readiness (what /readyz serves). */
  health(): Health;
  /** Resolves if the bridge gives up consuming for good: the process should exit non-zero. */
  readonly failed: Promise<Error>;
  /** Stops and starts the relay with a new producer (unsent rows are published again). */
  restartRelay(): Promise<void>;
  /** Stops and starts the bridge in the same consumer group: it resumes from the committed offsets. */
  restartBridge(): Promise<void>;
  /** Stops the relay first (nothing new enters), then its producer, then the bridge and the consumers. */
  close(): Promise<void>;
}

/** Starts the pipeline's halves in this process; see PipelineOptions for the defaults. */
export async function startPipeline(options: PipelineOptions): Promise<Pipeline> {
  const { logger } = options;
  const parts = new Set(options.parts ?? ["relay", "bridge", "consumers"]);
  const consumers = parts.has("consumers") ? (options.consumers ?? []) : [];
  const transport = options.transport ?? "kafka";
  const topicPrefix = options.topicPrefix ?? "";
  const bridgeOptions = options.bridge ?? {};
  const eventCheck = options.eventCheck ?? parseEventMessage;
  if (transport === "in-process" && !parts.has("relay")) throw new Error("an in-process pipeline runs the relay");

  const kafka =
    transport === "kafka" ? (options.kafka ?? createKafka(options.clientId ?? "sunday-events", options.brokers ? [...options.brokers] : kafkaBrokers())) : null;
  if (kafka && (options.ensureTopics ?? true)) {
    const topics = topicsOf(topicPrefix);
    await ensureTopicsOf(kafka, [...topics.domain, topics.deadLetter]);
  }

  const metrics = options.metrics ? createPipelineMetrics(options.metrics, { relay: parts.has("relay") }) : null;

  let resolveFailed: (error: Error) => void = () => undefined;
  const failed = new Promise<Error>((resolve) => {
    resolveFailed = resolve;
  });

  let producer: Producer | null = null;
  let publisher: EventPublisher | null = null;
  let inProcess: InProcessPublisher | null = null;
  if (transport === "in-process") {
    const appender =
      options.appender ??
      (options.redis
        ? createStreamAppender(options.redis, {
            consumerGroup: bridgeOptions.groupId ?? "sunday-bridge",
            retentionMs: bridgeOptions.retentionMs ?? STREAM_RETENTION_MS,
            seenTtlSeconds: bridgeOptions.seenTtlSeconds ?? 7 * 24 * 3600,
            keyPrefix: bridgeOptions.keyPrefix,
            waitReplicas: bridgeOptions.waitReplicas,
            logger,
          })
        : null);
    if (!appender) throw new Error("an in-process pipeline needs an appender or a Redis connection");
    inProcess = inProcessPublisher({ appender, check: eventCheck, logger, sinks: consumers.map((consumer) => consumer.sink) });
    publisher = inProcess;
  }

  const startRelay = async (): Promise<OutboxRelay> => {
    if (!options.databaseUrl) throw new Error("the relay needs databaseUrl");
    let target = publisher;
    if (kafka) {
      producer = createIdempotentProducer(kafka);
      await producer.connect();
      target = kafkaPublisher(producer);
    }
    if (!target) throw new Error("no publisher for the relay");
    const relay = await startOutboxRelay({
      ...options.relay,
      databaseUrl: options.databaseUrl,
      publisher: options.wrapPublisher ? options.wrapPublisher(target) : target,
      check: options.envelopeCheck ?? validateEvent,
      metrics: metrics?.relay,
      logger,
      topicPrefix,
    });
    metrics?.setBacklogSource(() => relay.backlog());
    return relay;
  };
  const stopRelay = async (relay: OutboxRelay): Promise<void> => {
    metrics?.setBacklogSource(null);
    await relay.dispose();
    await producer?.disconnect();
    producer = null;
  };

  const startKafkaBridge = async (): Promise<Bridge> => {
    if (!kafka || !options.redis) throw new Error("the bridge needs Kafka and a Redis connection");
    const { awaitReady, ...tuning } = bridgeOptions;
    const started = await startBridge({ ...tuning, kafka, redis: options.redis, check: eventCheck, metrics: metrics?.consumer, logger, topicPrefix });
    void started.failed.then((error) => {
      if (pipeline.bridge === started) resolveFailed(error);
    });
    if (awaitReady) await started.ready;
    return started;
  };

  const startConsumer = async (consumer: PipelineConsumer): Promise<Bridge> => {
    if (!kafka) throw new Error("a Kafka consumer needs Kafka");
    const started = await startBridge({
      kafka,
      sink: consumer.sink,
      deadLetter: false,
      groupId: consumer.groupId,
      fromBeginning: consumer.fromBeginning,
      sessionTimeoutMs: bridgeOptions.sessionTimeoutMs,
      stalledAfterMs: bridgeOptions.stalledAfterMs,
      maxRebuilds: bridgeOptions.maxRebuilds,
      check: eventCheck,
      metrics: metrics?.consumer,
      logger,
      topicPrefix,
    });
    void started.failed.then(resolveFailed);
    if (bridgeOptions.awaitReady) await started.ready;
    return started;
  };
  const runningConsumers: Bridge[] = [];

  const pipeline: Pipeline = {
    transport,
    kafka,
    relay: null,
    bridge: null,
    consumers: runningConsumers,
    health() {
      const halves = [pipeline.relay?.health(), pipeline.bridge?.health(), ...runningConsumers.map((consumer) => consumer.health())].filter(
        (health): health is Health => health !== undefined,
      );
      const [only] = halves;
      if (halves.length === 1 && only) return only;
      const waiting = halves.filter((health) => !health.ready);
      if (waiting.length === 0) return { ready: true };
      return { ready: false, reason: waiting.map((health) => health.reason ?? "not ready").join("; ") };
    },
    failed,
    async restartRelay() {
      if (pipeline.relay) await stopRelay(pipeline.relay);
      pipeline.relay = await startRelay();
    },
    async restartBridge() {
      await pipeline.bridge?.dispose();
      pipeline.bridge = await startKafkaBridge();
    },
    async close() {
      if (pipeline.relay) await stopRelay(pipeline.relay);
      pipeline.relay = null;
      await inProcess?.close();
      await pipeline.bridge?.dispose();
      pipeline.bridge = null;
      for (const consumer of runningConsumers.splice(0)) await consumer.dispose();
      metrics?.close();
    },
  };

  try {
    // The bridge first: whatever the relay publishes next finds a consumer already in its group.
    if (transport === "kafka" && parts.has("bridge")) pipeline.bridge = await startKafkaBridge();
    if (transport === "kafka") for (const consumer of consumers) runningConsumers.push(await startConsumer(consumer));
    if (parts.has("relay")) pipeline.relay = await startRelay();
  } catch (error) {
    await pipeline.close().catch(() => undefined);
    throw error;
  }
  return pipeline;
}
