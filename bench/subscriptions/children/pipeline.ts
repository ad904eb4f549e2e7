// The event pipeline in its own process: outbox relay (LISTEN/NOTIFY) -> Kafka -> bridge -> Redis
// Streams under the benchmark's prefix, wired as test/support/live.ts wires it. The publisher and
// the bridge's event check are wrapped to time, per event id, when the relay handed a batch to
// Kafka, when Kafka acknowledged it, and when the bridge's consumer got the message.
import { randomUUID } from "node:crypto";
import type { Kafka } from "kafkajs";
import { Redis } from "../redis.ts";
import { pino } from "pino";
import { createIdempotentProducer, createKafka, ensureTopics } from "../../../events/kafka.ts";
import { kafkaPublisher } from "../../../events/publisher.ts";
import { startOutboxRelay } from "../../../events/relay/outbox-relay.ts";
import { startBridge } from "../../../events/bridge/bridge.ts";
import { parseEventMessage, validateEvent } from "../../../events/contracts/registry.ts";
import { childConfig, fail, ready, serve } from "./ipc.ts";

export interface PipelineConfig {
  databaseUrl: string;
  redisUrl: string;
  prefix: string;
  brokers?: string[];
  /** Extra kafkajs consumer options for the bridge's consumer (an experiment, e.g. {"maxWaitTimeInMs": 100}). */
  consumerOptions?: Record<string, unknown>;
  /** Relay options passed through (pollIntervalMs, batchSize). */
  relayOptions?: { pollIntervalMs?: number; batchSize?: number };
}

const now = () => performance.timeOrigin + performance.now();

interface Timing {
  publishStart?: number;
  publishEnd?: number;
  bridgeReceived?: number;
}

try {
  const config = childConfig<PipelineConfig>();
  const logger = pino({ level: process.env.LOG_LEVEL ?? "warn" });
  const kafka: Kafka = createKafka(`sunday-bench-${randomUUID().slice(0, 8)}`, config.brokers);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin);
  await admin.disconnect();
  if (config.consumerOptions) {
    const consumer = kafka.consumer.bind(kafka);
    kafka.consumer = (options) => consumer({ ...options, ...config.consumerOptions } as typeof options);
  }
  const timings = new Map<string, Timing>();
  const timing = (eventId: string) => {
    let found = timings.get(eventId);
    if (!found) timings.set(eventId, (found = {}));
    return found;
  };

  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  const publisher = kafkaPublisher(producer);
  const relay = await startOutboxRelay({
    databaseUrl: config.databaseUrl,
    publisher: {
      async publish(messages) {
        const at = now();
        for (const message of messages) timing(message.headers.eventId ?? "").publishStart = at;
        await publisher.publish(messages);
        const done = now();
        for (const message of messages) timing(message.headers.eventId ?? "").publishEnd = done;
      },
    },
    check: validateEvent,
    logger,
    ...config.relayOptions,
  });
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1 });
  const bridge = await startBridge({
    kafka,
    redis,
    check: (value) => {
      const at = now();
      const verdict = parseEventMessage(value);
      if (verdict.ok) timing(verdict.event.eventId).bridgeReceived = at;
      return verdict;
    },
    logger,
    groupId: `bench-bridge-${randomUUID()}`,
    fromBeginning: false,
    keyPrefix: config.prefix,
  });
  await bridge.ready;
  serve(
    {
      timings: (message) => {
        const ids = (message.ids as string[] | undefined) ?? [...timings.keys()];
        const out = Object.fromEntries(ids.map((id) => [id, timings.get(id) ?? {}]));
        timings.clear();
        return out;
      },
    },
    async () => {
      await bridge.dispose();
      await relay.dispose();
      await producer.disconnect();
      redis.disconnect();
    },
  );
  ready({});
} catch (error) {
  fail(error);
}
