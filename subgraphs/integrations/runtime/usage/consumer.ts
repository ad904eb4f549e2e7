/**
 * The `api-usage` consumer of the full stack: a Kafka consumer in a group of its own
 * (`sunday-api-usage`), run by the integrations runtime process (`serve.ts integrations-runtime`),
 * which already owns a database connection and consumers. Each message is one batch of a gateway;
 * it is written (rollups.ts: once per batch id) before its offset is committed, so a crash or a
 * rebalance replays at most batches that then add nothing. A message that is not a batch is logged
 * and skipped: usage is statistics, not a contract worth a dead-letter topic.
 */
import type { Consumer, Kafka } from "kafkajs";
import { ensureTopicsOf, topicsOf } from "../../../../events/kafka.ts";
import { API_USAGE_TOPIC, parseUsageBatch } from "../../../../events/usage.ts";
import type { Logger } from "../../../../platform/logger.ts";
import type { UsageRollupWriter } from "./rollups.ts";

export interface UsageConsumerOptions {
  readonly kafka: Kafka;
  readonly writer: UsageRollupWriter;
  readonly logger: Logger;
  /** @default "sunday-api-usage" */
  readonly groupId?: string;
  /** Namespace of the topic (see topicsOf). @default "" */
  readonly topicPrefix?: string;
  /** Called after each batch is handled (written or found a duplicate); tests wait on it. */
  readonly onBatch?: (batchId: string, written: boolean) => void;
}

export interface UsageConsumer {
  /** Resolves once the consumer has joined its group. */
  readonly ready: Promise<void>;
  dispose(): Promise<void>;
}

export async function startUsageConsumer(options: UsageConsumerOptions): Promise<UsageConsumer> {
  const topic = topicsOf(options.topicPrefix).of(API_USAGE_TOPIC);
  await ensureTopicsOf(options.kafka, [topic]);
  const consumer: Consumer = options.kafka.consumer({ groupId: options.groupId ?? "sunday-api-usage" });
  const ready = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    // A failed write throws: kafkajs retries the message before committing past it.
    eachMessage: async ({ message }) => {
      const batch = message.value ? parseUsageBatch(message.value.toString("utf8")) : null;
      if (!batch) {
        options.logger.warn({ topic, offset: message.offset }, "not a usage batch; skipped");
        return;
      }
      const written = await options.writer.write(batch);
      options.onBatch?.(batch.id, written);
    },
  });
  return { ready, dispose: () => consumer.disconnect() };
}
