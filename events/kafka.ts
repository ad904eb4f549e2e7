import { Kafka, Partitioners, logLevel, type Admin, type Producer } from "kafkajs";
import { kafkaConfig } from "../platform/config.ts";
import { TOPICS } from "./contracts/envelope.ts";

/** Every topic domain events travel on (the contracts' list), and the one refused events go to. */
export const DOMAIN_TOPICS = TOPICS;
export const DEAD_LETTER_TOPIC = "dead-letter-events";

/**
 * Topic names under a namespace: `prefix` keeps pipelines that share a broker apart (test files
 * running side by side); production uses none.
 */
export function topicsOf(prefix = ""): { readonly domain: readonly string[]; readonly deadLetter: string; of(topic: string): string } {
  return { domain: DOMAIN_TOPICS.map((topic) => prefix + topic), deadLetter: prefix + DEAD_LETTER_TOPIC, of: (topic) => prefix + topic };
}

/** KAFKA_BROKERS (platform/config.ts). @default ["127.0.0.1:9092"] */
export function kafkaBrokers(): string[] {
  return kafkaConfig().brokers;
}

export function createKafka(clientId: string, brokers: string[] = kafkaBrokers()): Kafka {
  return new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.WARN,
    // Reconnect patiently: a broker restart must stall the pipeline, not kill it.
    retry: { initialRetryTime: 200, maxRetryTime: 5_000, retries: Number.MAX_SAFE_INTEGER },
  });
}

/** Idempotent, acks=all: a retried send never duplicates or reorders within a partition. */
export function createIdempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { initialRetryTime: 200, maxRetryTime: 5_000, retries: Number.MAX_SAFE_INTEGER },
  });
}

/** Creates the topics if they are missing (3 partitions: order is per key = aggregate id). */
export async function ensureTopics(admin: Admin, topics: readonly string[] = [...DOMAIN_TOPICS, DEAD_LETTER_TOPIC]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((topic) => !existing.has(topic));
  if (missing.length === 0) return;
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((topic) => ({ topic, numPartitions: 3, replicationFactor: 1 })),
  });
}

/** The dead-letter record: the original bytes, why they were refused, and where they came from. */
export interface DeadLetter {
  readonly reason: string;
  readonly errors: readonly string[];
  readonly source: string;
  readonly original: string;
  readonly refusedAt: string;
}
