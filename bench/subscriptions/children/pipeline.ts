// The event pipeline in its own process (events/pipeline.ts, as the tests run it): outbox relay
// (LISTEN/NOTIFY) -> Kafka -> bridge -> Redis Streams under the benchmark's prefix. The publisher
// and the bridge's event check are wrapped to time, per event id, when the relay handed a batch
// to Kafka, when Kafka acknowledged it, and when the bridge's consumer got the message.
import { randomUUID } from "node:crypto";
import type { Kafka } from "kafkajs";
import { Redis } from "../redis.ts";
import { createKafka } from "../../../events/kafka.ts";
import { startPipeline } from "../../../events/pipeline.ts";
import { parseEventMessage } from "../../../events/contracts/registry.ts";
import { createLogger } from "../../../platform/logger.ts";
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
  // LOG_LEVEL: the parent passes "warn" unless told otherwise.
  const logger = createLogger("bench-pipeline");
  const kafka: Kafka = createKafka(`sunday-bench-${randomUUID().slice(0, 8)}`, config.brokers);
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

  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1 });
  const pipeline = await startPipeline({
    kafka,
    databaseUrl: config.databaseUrl,
    redis,
    logger,
    relay: config.relayOptions,
    bridge: { groupId: `bench-bridge-${randomUUID()}`, fromBeginning: false, keyPrefix: config.prefix, awaitReady: true },
    wrapPublisher: (publisher) => ({
      async publish(messages) {
        const at = now();
        for (const message of messages) timing(message.headers.eventId ?? "").publishStart = at;
        await publisher.publish(messages);
        const done = now();
        for (const message of messages) timing(message.headers.eventId ?? "").publishEnd = done;
      },
    }),
    eventCheck: (value) => {
      const at = now();
      const verdict = parseEventMessage(value);
      if (verdict.ok) timing(verdict.event.eventId).bridgeReceived = at;
      return verdict;
    },
  });
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
      await pipeline.close();
      redis.disconnect();
    },
  );
  ready({});
} catch (error) {
  fail(error);
}
