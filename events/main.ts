// The event processes, one per part: `node events/main.ts relay|bridge`.
// Configured by DATABASE_URL and OUTBOX_KEEP_PUBLISHED (relay), KAFKA_BROKERS, REDIS_URL (bridge), and PORT / HOST for the
// probes (platform/config.ts): GET /healthz (200 while the process runs) and /readyz (200, or 503
// with the reason while the part waits for a dependency), and /metrics (events/metrics.ts). A part that gives up consuming exits
// with status 1, for its supervisor to restart it; outages of Redis, Kafka or Postgres alone never
// make it give up. SIGTERM/SIGINT close it (platform/lifecycle.ts).
import { Registry } from "prom-client";
import type { RedisClient } from "../platform/redis.ts";
import { bridgeConfig, relayConfig } from "../platform/config.ts";
import { startLifecycle } from "../platform/lifecycle.ts";
import { createLogger } from "../platform/logger.ts";
import { bridgeRedis } from "./bridge/bridge.ts";
import { serveHealth } from "./health.ts";
import { startPipeline } from "./pipeline.ts";
import { tracingFromEnvironment } from "../platform/tracing.ts";

const part = process.argv[2];
if (part !== "relay" && part !== "bridge") {
  console.error("usage: events/main.ts relay|bridge");
  process.exit(2);
}
const config = part === "relay" ? { ...relayConfig(), redis: undefined } : { ...bridgeConfig(), databaseUrl: undefined };
const logger = createLogger(`events-${part}`);
const lifecycle = startLifecycle({ logger });
const tracing = tracingFromEnvironment(part);
if (tracing) lifecycle.add("tracing", () => tracing.shutdown());

let redis: RedisClient | undefined;
if (config.redis) {
  const connection = bridgeRedis(config.redis);
  lifecycle.add("redis", () => connection.disconnect());
  redis = connection;
}
// The probes answer from the start: while Kafka is not reached yet the part is alive, not ready, and
// says why (a supervisor must not restart a process that is only waiting for a broker).
let pipeline: Awaited<ReturnType<typeof startPipeline>> | undefined;
const metrics = new Registry();
const probes = await serveHealth(() => pipeline?.health() ?? { ready: false, reason: "starting: connecting to Kafka" }, config.port, config.host, metrics);
pipeline = await startPipeline({
  parts: [part],
  databaseUrl: config.databaseUrl,
  redis,
  brokers: config.kafkaBrokers,
  clientId: `sunday-${part}`,
  bridge: { waitReplicas: config.redis?.waitReplicas },
  relay: "keepPublishedMs" in config ? { keepPublishedMs: config.keepPublishedMs } : undefined,
  metrics,
  logger,
});
const started = pipeline;
lifecycle.add("pipeline", () => started.close());
void started.failed.then((error) => lifecycle.fail(error, "the bridge gave up consuming; exiting for the supervisor to restart it"));

// Closed first: the probes stop answering while the part drains.
lifecycle.add("probes", () => {
  probes.close();
  probes.closeAllConnections();
});
logger.info({ part, probes: probes.address() }, "started");
