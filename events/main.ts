// The event processes, one per part: `node --import tsx events/main.ts relay|bridge`.
// Configured by DATABASE_URL (relay), KAFKA_BROKERS, REDIS_URL (bridge).
import { Redis } from "ioredis";
import { createLogger } from "../subgraphs/shared/logger.ts";
import { parseEventMessage, validateEvent } from "./contracts/registry.ts";
import { createIdempotentProducer, createKafka, ensureTopics } from "./kafka.ts";
import { kafkaPublisher } from "./publisher.ts";
import { startOutboxRelay } from "./relay/outbox-relay.ts";
import { startBridge } from "./bridge/bridge.ts";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set`);
  return value;
}

const part = process.argv[2];
const logger = createLogger(`events-${part ?? "?"}`);
const kafka = createKafka(`sunday-${part ?? "events"}`);
const admin = kafka.admin();
await admin.connect();
await ensureTopics(admin);
await admin.disconnect();

let dispose: () => Promise<void>;
if (part === "relay") {
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  const relay = await startOutboxRelay({ databaseUrl: required("DATABASE_URL"), publisher: kafkaPublisher(producer), check: validateEvent, logger });
  dispose = async () => {
    await relay.dispose();
    await producer.disconnect();
  };
} else if (part === "bridge") {
  const redis = new Redis(required("REDIS_URL"));
  const bridge = await startBridge({ kafka, redis, check: parseEventMessage, logger });
  dispose = async () => {
    await bridge.dispose();
    redis.disconnect();
  };
} else {
  console.error("usage: events/main.ts relay|bridge");
  process.exit(2);
}
logger.info({ part }, "started");

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void dispose().then(() => process.exit(0)));
}
