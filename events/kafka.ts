import { readFileSync } from "node:fs";
import { CompressionTypes, Kafka, Partitioners, logLevel, type Admin, type ITopicConfig, type KafkaConfig, type Producer, type RetryOptions } from "kafkajs";
import { type KafkaCompression, type KafkaSecurity, type KafkaTopicSettings, kafkaConfig } from "../platform/config.ts";
import { TOPICS } from "./contracts/envelope.ts";

/** Every topic domain events travel on (the contracts' list), and the one refused events go to. */
export const DOMAIN_TOPICS = TOPICS;
export const DEAD_LETTER_TOPIC = "dead-letter-events";
/**
 * The gateways' API usage batches (events/usage.ts): not domain events (no envelope, contract or
 * dead letters), so not in DOMAIN_TOPICS; the gateway's sink and the usage consumer create it.
 */
export const API_USAGE_TOPIC = "api-usage";

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

export interface CreateKafkaOptions {
  /** TLS and SASL. @default KAFKA_SSL*, KAFKA_SASL_* (platform/config.ts): none unless set */
  readonly security?: KafkaSecurity;
  /** @default retry for ever, backing off to 5 s */
  readonly retry?: RetryOptions;
}

export function createKafka(clientId: string, brokers: string[] = kafkaBrokers(), options: CreateKafkaOptions = {}): Kafka {
  return new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.WARN,
    // Reconnect patiently: a broker restart must stall the pipeline, not kill it. (A refused
    // SASL login is not retried: kafkajs gives up on it at once.)
    retry: options.retry ?? { initialRetryTime: 200, maxRetryTime: 5_000, retries: Number.MAX_SAFE_INTEGER },
    ...kafkaClientSecurity(options.security ?? kafkaConfig().security),
  });
}

/** Reads a file the configuration names, or throws naming the variable. */
function readConfigured(variable: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(`${variable}: cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** kafkajs' `ssl` and `sasl` options from the configuration (files read now, so a missing one fails at start). */
export function kafkaClientSecurity(security: KafkaSecurity): Pick<KafkaConfig, "ssl" | "sasl"> {
  const options: Pick<KafkaConfig, "ssl" | "sasl"> = {};
  if (security.ssl) {
    const { caFile, certFile, keyFile } = security.ssl;
    options.ssl = {
      // Host names are checked against the certificate (an IP address against its IP SANs).
      rejectUnauthorized: true,
      ...(caFile ? { ca: [readConfigured("KAFKA_SSL_CA_FILE", caFile)] } : {}),
      ...(certFile && keyFile ? { cert: readConfigured("KAFKA_SSL_CERT_FILE", certFile), key: readConfigured("KAFKA_SSL_KEY_FILE", keyFile) } : {}),
    };
  }
  if (security.sasl) {
    const { mechanism, username, passwordFile } = security.sasl;
    // A password file may end with a newline (echo > file); the password itself never does.
    const password = passwordFile ? readConfigured("KAFKA_SASL_PASSWORD_FILE", passwordFile).replace(/\r?\n$/, "") : (security.sasl.password ?? "");
    // Two branches only because kafkajs types each SCRAM mechanism apart.
    options.sasl = mechanism === "scram-sha-512" ? { mechanism, username, password } : { mechanism, username, password };
  }
  return options;
}

const CODECS: Readonly<Record<KafkaCompression, CompressionTypes>> = { gzip: CompressionTypes.GZIP, none: CompressionTypes.None };

/**
 * Idempotent, acks=all: a retried send never duplicates or reorders within a partition. Every
 * batch is compressed with `compression` (gzip: the one codec kafkajs has without plug-ins).
 */
export function createIdempotentProducer(kafka: Kafka, compression: KafkaCompression = kafkaConfig().compression): Producer {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { initialRetryTime: 200, maxRetryTime: 5_000, retries: Number.MAX_SAFE_INTEGER },
  });
  const codec = CODECS[compression];
  // kafkajs takes the codec per send, not per producer: a caller's own choice still wins.
  return {
    ...producer,
    send: (record) => producer.send({ compression: codec, ...record }),
    sendBatch: (batch) => producer.sendBatch({ compression: codec, ...batch }),
  };
}

/** KAFKA_TOPIC_PARTITIONS, KAFKA_REPLICATION_FACTOR, KAFKA_MIN_INSYNC_REPLICAS, KAFKA_RETENTION (platform/config.ts). */
export function topicSettings(): KafkaTopicSettings {
  return kafkaConfig().topics;
}

/**
 * Creates the topics that are missing with `settings` (partitions: order is per key = aggregate
 * id, so more partitions spread aggregates, never split one). Topics that exist are left as they are.
 */
/** ensureTopics over a short-lived admin client of `kafka` (start-up of a producer or consumer). */
export async function ensureTopicsOf(kafka: Kafka, topics: readonly string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, topics);
  } finally {
    await admin.disconnect();
  }
}

export async function ensureTopics(
  admin: Admin,
  topics: readonly string[] = [...DOMAIN_TOPICS, DEAD_LETTER_TOPIC],
  settings: KafkaTopicSettings = topicSettings(),
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((topic) => !existing.has(topic));
  if (missing.length === 0) return;
  const { brokers } = await admin.describeCluster();
  if (brokers.length < settings.replicationFactor) {
    // Kafka would refuse it as INVALID_REPLICATION_FACTOR; say which setting to change.
    throw new Error(`KAFKA_REPLICATION_FACTOR is ${settings.replicationFactor} but the cluster has ${brokers.length} live broker(s): start more or lower it`);
  }
  const configEntries: ITopicConfig["configEntries"] = [
    { name: "min.insync.replicas", value: String(settings.minInsyncReplicas) },
    { name: "retention.ms", value: String(settings.retentionMs) },
    // Batches are stored as the producer compressed them (gzip by default), not recompressed.
    { name: "compression.type", value: "producer" },
  ];
  await admin.createTopics({
    // kafkajs' own wait asks one broker and gives up when that one has not heard of the topic yet
    // (UNKNOWN_TOPIC_OR_PARTITION, common on a cluster): waited for below instead.
    waitForLeaders: false,
    topics: missing.map((topic) => ({ topic, numPartitions: settings.partitions, replicationFactor: settings.replicationFactor, configEntries })),
  });
  await waitForLeaders(admin, missing);
}

/** Resolves once every partition of `topics` has a leader, asking again while brokers catch up with the new topics. */
async function waitForLeaders(admin: Admin, topics: readonly string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    try {
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics: [...topics] });
      const leaderless = metadata.flatMap((topic) => topic.partitions.filter((p) => p.leader < 0).map((p) => `${topic.name}/${p.partitionId}`));
      if (leaderless.length === 0) return;
      last = `no leader yet for ${leaderless.slice(0, 5).join(", ")}`;
    } catch (error) {
      // kafkajs' error classes are not ES exports: told apart by name (UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE are retriable).
      if (!(error instanceof Error) || error.name !== "KafkaJSProtocolError" || (error as { retriable?: unknown }).retriable !== true) throw error;
      last = error.message;
    }
    if (Date.now() > deadline) throw new Error(`topics ${topics.join(", ")} have no leaders after ${timeoutMs} ms: ${last}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The dead-letter record: the original bytes, why they were refused, and where they came from. */
export interface DeadLetter {
  readonly reason: string;
  readonly errors: readonly string[];
  readonly source: string;
  readonly original: string;
  readonly refusedAt: string;
}
