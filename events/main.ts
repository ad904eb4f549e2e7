// The event processes, one per part: `node events/main.ts relay|bridge`.
// Configured by DATABASE_URL (relay), KAFKA_BROKERS, REDIS_URL (bridge), and PORT / HOST for the
// probes: GET /healthz (200 while the process runs) and /readyz (200, or 503 with the reason while
// the part waits for a dependency). A part that gives up consuming exits with status 1, for its
// supervisor to restart it; outages of Redis, Kafka or Postgres alone never make it give up.
import type { Server } from "node:http";
import { createLogger } from "../platform/logger.ts";
import { serveHealth, type Health } from "./health.ts";
import { parseEventMessage, validateEvent } from "./contracts/registry.ts";
import { createIdempotentProducer, createKafka, ensureTopics } from "./kafka.ts";
import { kafkaPublisher } from "./publisher.ts";
import { startOutboxRelay } from "./relay/outbox-relay.ts";
import { bridgeRedis, startBridge } from "./bridge/bridge.ts";

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
let health: () => Health;
if (part === "relay") {
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  const relay = await startOutboxRelay({ databaseUrl: required("DATABASE_URL"), publisher: kafkaPublisher(producer), check: validateEvent, logger });
  health = () => relay.health();
  dispose = async () => {
    await relay.dispose();
    await producer.disconnect();
  };
} else if (part === "bridge") {
  const redis = bridgeRedis(required("REDIS_URL"));
  const bridge = await startBridge({ kafka, redis, check: parseEventMessage, logger });
  health = () => bridge.health();
  dispose = async () => {
    await bridge.dispose();
    redis.disconnect();
  };
  void bridge.failed.then((error) => {
    logger.fatal({ err: error }, "the bridge gave up consuming; exiting for the supervisor to restart it");
    process.exit(1);
  });
} else {
  console.error("usage: events/main.ts relay|bridge");
  process.exit(2);
}
const probes: Server = await serveHealth(health, Number(process.env.PORT ?? 0), process.env.HOST ?? "0.0.0.0");
logger.info({ part, probes: probes.address() }, "started");

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    probes.close();
    void dispose().then(() => process.exit(0));
  });
}
