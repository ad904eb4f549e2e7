// One process per part, for docker-compose and production: `node scripts/serve.ts <part>`
// where <part> is users | projects | items | integrations | gateway | integrations-runtime (the
// webhook deliveries: a Kafka consumer in the group "sunday-integrations", probes on PORT, needs
// DATABASE_URL, KAFKA_BROKERS and WEBHOOK_SECRET_KEYS). Configured by environment
// (platform/config.ts serveConfig): DATABASE_URL, INTERNAL_SIGNING_SECRET, PORT, HOST,
// {USERS,PROJECTS,ITEMS,INTEGRATIONS}_URL, and for the gateway JWT_SECRET / JWT_ISSUER /
// JWT_AUDIENCE / JWT_JWKS_URL, SUPERGRAPH_PATH, REDIS_URL (rate limits, APQ and live
// subscriptions; without it the gateway serves no subscriptions) and KAFKA_BROKERS (API usage
// batches to the api-usage topic, summed by the integrations runtime; none recorded without it). SIGTERM/SIGINT drain the part
// and exit 0 (platform/lifecycle.ts).
//
// Each part loads only its own code (dynamic imports below): the gateway compiles no subgraph and no
// Prisma client at start, a subgraph no other one, which matters to startup probes on a busy node.
import { createRedisClient } from "../platform/redis.ts";
import { Registry } from "prom-client";
import { chatConfig, integrationsRuntimeConfig, serveConfig, usageConfig, webhookConfig, type ServePart } from "../platform/config.ts";
import { startLifecycle } from "../platform/lifecycle.ts";
import { createLogger } from "../platform/logger.ts";
import type { RunningSubgraph, SubgraphRuntime } from "../subgraphs/shared/server.ts";
import { redisNonceStore } from "../platform/redis-nonces.ts";
import { tracingFromEnvironment } from "../platform/tracing.ts";

const PARTS: readonly (ServePart | "integrations-runtime")[] = ["users", "projects", "items", "integrations", "gateway", "integrations-runtime"];
const part = PARTS.find((name) => name === process.argv[2]);
// Before anything is built: subgraphs wrap their resolvers in spans only when tracing is on at start.
const tracing = part ? tracingFromEnvironment(part) : undefined;
if (!part) {
  console.error("usage: serve.ts users|projects|items|integrations|gateway|integrations-runtime");
  process.exit(2);
}

/** The webhook settings of a served part: WEBHOOK_SECRET_KEYS is required. */
async function servedWebhookSettings() {
  const config = webhookConfig({ requireKeys: true });
  const { webhookSettingsOf } = await import("../subgraphs/integrations/src/webhook-settings.ts");
  return { config, settings: webhookSettingsOf({ ...config, secretKeys: config.secretKeys ?? "", production: process.env.NODE_ENV === "production" }) };
}

const starters: Record<"users" | "projects" | "items" | "integrations", (runtime: SubgraphRuntime) => Promise<RunningSubgraph>> = {
  users: async (runtime) => (await import("../subgraphs/users/src/index.ts")).startUsersSubgraph(runtime),
  projects: async (runtime) => (await import("../subgraphs/projects/src/index.ts")).startProjectsSubgraph(runtime),
  items: async (runtime) => (await import("../subgraphs/items/src/index.ts")).startItemsSubgraph(runtime),
  integrations: async (runtime) =>
    (await import("../subgraphs/integrations/src/index.ts")).startIntegrationsSubgraph(runtime, (await servedWebhookSettings()).settings),
};

if (part === "integrations-runtime") {
  const config = integrationsRuntimeConfig();
  const { config: webhooks, settings } = await servedWebhookSettings();
  const { createPrisma } = await import("../platform/db.ts");
  const { startIntegrationsRuntime } = await import("../subgraphs/integrations/runtime/index.ts");
  const { startPipeline } = await import("../events/pipeline.ts");
  const { createKafka } = await import("../events/kafka.ts");
  const { serveHealth } = await import("../events/health.ts");
  const { startUsageConsumer } = await import("../subgraphs/integrations/runtime/usage/consumer.ts");
  const { createUsageRollupWriter, startUsageRetention } = await import("../subgraphs/integrations/runtime/usage/rollups.ts");
  const logger = createLogger("integrations-runtime");
  const lifecycle = startLifecycle({ logger });
  if (tracing) lifecycle.add("tracing", () => tracing.shutdown());
  const prisma = createPrisma({ url: config.databaseUrl });
  lifecycle.add("prisma", () => prisma.$disconnect());
  const metrics = new Registry();
  const chat = chatConfig();
  const chatOn = chat.slack !== undefined || chat.teams !== undefined;
  if (chatOn && (!config.gatewayUrl || !config.signingSecret)) {
    logger.fatal(
      "the Slack or Teams app is configured: GATEWAY_URL and INTERNAL_SIGNING_SECRET must be set too (the runtime acts as chat users through the gateway)",
    );
    process.exit(1);
  }
  const redis = config.redis ? createRedisClient(config.redis) : undefined;
  if (redis) lifecycle.add("redis", () => redis.disconnect());
  const runtime = await startIntegrationsRuntime({
    prisma,
    nonces: redis ? redisNonceStore(redis, { logger }) : undefined,
    metrics,
    webhooks: settings,
    chat:
      chatOn && config.gatewayUrl && config.signingSecret
        ? { ...chat, gatewayUrl: config.gatewayUrl, signingSecret: config.signingSecret, keyRing: settings.keyRing }
        : undefined,
    retrySchedule: webhooks.retrySchedule,
    health: { disableAfterFailures: webhooks.disableAfterFailures, disableAfterMs: webhooks.disableAfterMs },
    logger,
  });
  lifecycle.add("runtime", () => runtime.close());
  // One port: probes, /metrics, and the inbound chat requests the gateway forwards (INTEGRATIONS_RUNTIME_URL).
  // It answers from the start: alive and not ready while Kafka is not reached yet (see events/main.ts).
  let pipeline: Awaited<ReturnType<typeof startPipeline>> | undefined;
  const probes = await serveHealth(
    () => pipeline?.health() ?? { ready: false, reason: "starting: connecting to Kafka" },
    config.port,
    config.host,
    metrics,
    runtime.inbound,
  );
  pipeline = await startPipeline({
    parts: ["consumers"],
    brokers: config.kafkaBrokers,
    clientId: "sunday-integrations",
    consumers: [{ groupId: "sunday-integrations", sink: runtime.sink }],
    metrics,
    logger,
  });
  const consumer = pipeline;
  lifecycle.add("consumer", () => consumer.close());
  // API usage: the gateways' batches summed into the rollups this process's database owns, in a group of its own.
  const usageWriter = createUsageRollupWriter({ prisma, retentionMs: usageConfig().retentionMs });
  const stopRetention = startUsageRetention(usageWriter, logger);
  const usage = await startUsageConsumer({ kafka: pipeline.kafka ?? createKafka("sunday-integrations", config.kafkaBrokers), writer: usageWriter, logger });
  lifecycle.add("usage consumer", async () => {
    stopRetention();
    await usage.dispose();
  });
  void consumer.failed.then((error) => lifecycle.fail(error, "the integrations consumer gave up; exiting for the supervisor to restart it"));
  lifecycle.add("probes", () => {
    probes.close();
    probes.closeAllConnections();
  });
  logger.info({ probes: probes.address() }, "started");
} else if (part === "gateway") {
  const config = serveConfig(part);
  const { startGateway } = await import("../gateway/src/server.ts");
  const { redisFeed, redisPresenceStore } = await import("../gateway/src/subscriptions/index.ts");
  const { kafkaUsageSink } = await import("../gateway/src/usage/kafka-sink.ts");
  const { createKafka } = await import("../events/kafka.ts");
  const lifecycle = startLifecycle({ logger: createLogger("serve-gateway") });
  if (tracing) lifecycle.add("tracing", () => tracing.shutdown());
  const redis = config.redis ? createRedisClient(config.redis) : undefined;
  if (redis) lifecycle.add("redis", () => redis.disconnect());
  // API usage batches go to the api-usage topic when KAFKA_BROKERS is set (closed after the gateway's last flush).
  const usage = config.usageBrokers ? kafkaUsageSink({ kafka: createKafka("sunday-gateway", config.usageBrokers), logger: createLogger("usage") }) : undefined;
  if (usage) lifecycle.add("usage producer", () => usage.dispose());
  const gateway = await startGateway({
    supergraph: { path: config.supergraphPath },
    redis,
    // Live subscriptions read what the bridge (events/main.ts bridge) appends to Redis.
    subscriptions: redis ? { feed: redisFeed(redis), presence: redisPresenceStore(redis) } : undefined,
    signingSecret: config.signingSecret,
    jwt: config.jwt,
    subgraphUrls: config.peers,
    port: config.port,
    host: config.host,
    development: config.development,
    integrationsRuntimeUrl: config.integrationsRuntimeUrl,
    usage: usage ? { sink: usage.sink } : undefined,
  });
  lifecycle.add("gateway", () => gateway.dispose());
} else {
  const config = serveConfig(part);
  const logger = createLogger(`serve-${part}`);
  const lifecycle = startLifecycle({ logger });
  if (tracing) lifecycle.add("tracing", () => tracing.shutdown());
  const { createPrisma } = await import("../platform/db.ts");
  const prisma = createPrisma({ url: config.databaseUrl });
  lifecycle.add("prisma", () => prisma.$disconnect());
  // With REDIS_URL, replicas share the nonces of signed requests: a request one served is refused by all.
  const redis = config.redis ? createRedisClient(config.redis) : undefined;
  if (redis) lifecycle.add("redis", () => redis.disconnect());
  const runtime: SubgraphRuntime = {
    prisma,
    signingSecret: config.signingSecret,
    port: config.port,
    host: config.host,
    peers: config.peers,
    ...(redis ? { nonces: redisNonceStore(redis, { logger }) } : {}),
  };
  // The items subgraph owns the read models built from the event log (search, snapshots): their metrics on its /metrics.
  const metrics = part === "items" ? new Registry() : undefined;
  const running = await starters[part]({ ...runtime, metrics });
  lifecycle.add(part, () => running.dispose());
  if (part === "items") {
    const { startItemsProjections } = await import("../subgraphs/items/src/projections.ts");
    const projections = await startItemsProjections({ databaseUrl: config.databaseUrl, logger, metrics });
    lifecycle.add("projections", () => projections.dispose());
  }
}
