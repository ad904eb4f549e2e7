/**
 * The full stack's usage sink: each flushed batch is one message on the `api-usage` topic (key = the
 * batch id), sent by an idempotent producer. The producer connects in the background: a gateway
 * starts and serves while Kafka is away, its usage buffer filling and then dropping (counted).
 */
import type { Kafka } from "kafkajs";
import { createIdempotentProducer, ensureTopicsOf, topicsOf } from "../../../events/kafka.ts";
import { API_USAGE_TOPIC, type UsageSink } from "../../../events/usage.ts";
import type { Logger } from "../../../platform/logger.ts";

export interface KafkaUsageSink {
  readonly sink: UsageSink;
  dispose(): Promise<void>;
}

export function kafkaUsageSink(options: { kafka: Kafka; logger: Logger; topicPrefix?: string }): KafkaUsageSink {
  const topic = topicsOf(options.topicPrefix).of(API_USAGE_TOPIC);
  const producer = createIdempotentProducer(options.kafka);
  const connected = (async () => {
    await ensureTopicsOf(options.kafka, [topic]);
    await producer.connect();
  })();
  connected.catch((error: unknown) => options.logger.error({ err: error, topic }, "usage producer could not start; usage records are dropped"));
  return {
    async sink(batch) {
      await connected;
      await producer.send({ topic, messages: [{ key: batch.id, value: JSON.stringify(batch) }] });
    },
    async dispose() {
      await connected.catch(() => undefined);
      await producer.disconnect();
    },
  };
}
