// `npm start`: the whole stack in one process. With DATABASE_URL unset it runs on the embedded
// default (PGlite served on the Postgres wire protocol, kept in .data/pglite); either way it
// applies migrations, seeds the demo data once, starts the four subgraphs and the gateway, and
// prints the GraphiQL URL with a ready-to-paste development token.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createRedisClient } from "../platform/redis.ts";
import { Registry } from "prom-client";
import { chatConfig, startConfig, usageConfig, webhookConfig } from "../platform/config.ts";
import { startLifecycle } from "../platform/lifecycle.ts";
import { migrate } from "../prisma/tools/migrate.ts";
import { hasDemoSeed, seedDemo } from "../prisma/seed.ts";
import { startEmbeddedPostgres } from "../infra/embedded/pglite.ts";
import { createPrisma } from "../platform/db.ts";
import { mintToken } from "../gateway/src/auth/jwt.ts";
import { embeddedAddressFile, type EmbeddedAddress } from "./dev-token.ts";
import { SUPERGRAPH_PATH, startStack } from "./stack.ts";
import { startLiveEvents } from "./live.ts";
import { createLogger } from "../platform/logger.ts";
import { startIntegrationsRuntime } from "../subgraphs/integrations/runtime/index.ts";
import { serveInbound } from "../subgraphs/integrations/runtime/chat/inbound.ts";
import { generateKey } from "../subgraphs/integrations/runtime/webhooks/secret-box.ts";
import { webhookSettingsOf } from "../subgraphs/integrations/src/webhook-settings.ts";
import { tracingFromEnvironment } from "../platform/tracing.ts";
import { createUsageRollupWriter, startUsageRetention } from "../subgraphs/integrations/runtime/usage/rollups.ts";

/** The development key ring of `npm start` when WEBHOOK_SECRET_KEYS is unset: made once, kept with the embedded data. */
function developmentKeyRing(): string {
  const file = fileURLToPath(new URL("../.data/webhook-secret-keys", import.meta.url));
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const ring = `dev:${generateKey()}`;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${ring}\n`, { mode: 0o600 });
  return ring;
}

const started = performance.now();
// A wrong value (PORT=abc) stops here, naming the variable, before anything is opened.
const config = startConfig();
const webhookOptions = webhookConfig();
const lifecycle = startLifecycle({ logger: createLogger("start") });
// Every part in this process shares one tracer provider (one service name; spans name their part).
const tracing = tracingFromEnvironment("start");
if (tracing) lifecycle.add("tracing", () => tracing.shutdown());

const embedded = config.databaseUrl ? null : await startEmbeddedPostgres({ dataDir: config.pgliteDataDir });
const databaseUrl = config.databaseUrl ?? embedded?.url ?? "";
// PGlite serves one process: `npm run dev-token` reaches this one's database through its address.
const addressFile = embedded ? embeddedAddressFile(embedded.dataDir) : undefined;
if (embedded) {
  lifecycle.add("embedded database", async () => {
    await embedded.dispose();
    if (addressFile) rmSync(addressFile, { force: true });
  });
  if (addressFile) writeFileSync(addressFile, JSON.stringify({ url: embedded.url, pid: process.pid } satisfies EmbeddedAddress));
}
const { applied } = await migrate(databaseUrl);
if (applied.length > 0) console.log(`applied migrations: ${applied.join(", ")}`);

const prisma = createPrisma({ url: databaseUrl, poolMax: 2 });
const { acme, owner } = await (async () => {
  try {
    if (!(await hasDemoSeed(prisma))) {
      const seed = await seedDemo(prisma);
      console.log(`seeded demo data: ${seed.counts.organizations} organizations, ${seed.counts.users} users, ${seed.counts.items} items`);
    }
    const acme = await prisma.organization.findUniqueOrThrow({ where: { slug: "acme" } });
    const owner = await prisma.membership.findFirstOrThrow({ where: { organizationId: acme.id, role: "OWNER" }, include: { user: true } });
    return { acme, owner };
  } finally {
    await prisma.$disconnect();
  }
})();

// Redis is optional here: without REDIS_URL, rate limits and persisted queries live in this process.
const redis = config.redis ? createRedisClient(config.redis) : undefined;
if (redis) lifecycle.add("redis", () => redis.disconnect());
const token = await mintToken({ userId: owner.userId, organizationId: acme.id, role: "OWNER" }, config.jwt);
const webhooks = webhookSettingsOf({
  secretKeys: webhookOptions.secretKeys ?? developmentKeyRing(),
  allowPrivateTargets: webhookOptions.allowPrivateTargets,
  production: !config.development,
});
const runtimePrisma = createPrisma({ url: databaseUrl, poolMax: 2 });
lifecycle.add("integrations database", () => runtimePrisma.$disconnect());
const runtimeMetrics = new Registry();
const signingSecret = config.signingSecret ?? randomBytes(32).toString("hex");
// Slack and Teams are on when their credentials are set (see README, Environment).
const chat = chatConfig({ defaultUrl: `http://localhost:${config.ports.gateway}` });
let gatewayUrl = `http://127.0.0.1:${config.ports.gateway}`;
const runtime = await startIntegrationsRuntime({
  chat: chat.slack || chat.teams ? { ...chat, gatewayUrl: () => gatewayUrl, signingSecret, keyRing: webhooks.keyRing } : undefined,
  prisma: runtimePrisma,
  metrics: runtimeMetrics,
  webhooks,
  retrySchedule: webhookOptions.retrySchedule,
  health: { disableAfterFailures: webhookOptions.disableAfterFailures, disableAfterMs: webhookOptions.disableAfterMs },
  logger: createLogger("integrations"),
});
lifecycle.add("integrations runtime", () => runtime.close());
// The gateway hands the chat services' requests to the runtime's own HTTP port, as in production.
const inbound = await serveInbound(runtime.inbound);
lifecycle.add("integrations inbound", () => inbound.close());
const live = await startLiveEvents({
  databaseUrl,
  redis,
  kafkaBrokers: config.kafkaBrokers,
  // PGlite does not pass NOTIFY from the subgraphs' connections to the relay's: the subgraphs wake
  // the relay after each mutation (onMutation below), and it polls as a safety net.
  pollIntervalMs: embedded ? 100 : undefined,
  consumers: [{ groupId: "sunday-integrations", sink: runtime.sink }],
  logger: createLogger("events"),
});
lifecycle.add("event pipeline", () => live.dispose());
// API usage: in one process the gateway's flushes go straight to the rollup writer (no topic), Kafka or not.
const usageWriter = createUsageRollupWriter({ prisma: runtimePrisma, retentionMs: usageConfig().retentionMs });
lifecycle.add("usage retention", startUsageRetention(usageWriter, createLogger("usage")));
const stack = await startStack({
  databaseUrl,
  signingSecret,
  jwt: config.jwt,
  development: config.development,
  graphiqlHeaders: { Authorization: `Bearer ${token}` },
  redis,
  subscriptions: live.subscriptions,
  // `npm run compose` in another terminal is picked up without a restart.
  supergraphPath: SUPERGRAPH_PATH.pathname,
  poolMax: embedded ? 4 : 10,
  webhooks,
  extraMetrics: [runtimeMetrics],
  integrationsRuntimeUrl: inbound.url,
  ports: config.ports,
  onMutation: () => live.wake(),
  usage: { sink: async (batch) => void (await usageWriter.write(batch)) },
});
gatewayUrl = stack.gateway.url;
// Closed first: the gateway drains its requests in flight before the pipeline and database go.
lifecycle.add("gateway and subgraphs", () => stack.dispose());

console.log(`
Sunday API is up in ${((performance.now() - started) / 1000).toFixed(1)} s (${embedded ? "embedded PGlite" : "DATABASE_URL"}, ${redis ? "REDIS_URL" : "in-process limits"}, events ${live.mode})
  GraphiQL:  ${stack.gateway.url}/graphql   (open in a browser; the token below is pre-filled)
  REST v1:   ${stack.gateway.url}/api/v1/docs   (Swagger UI; OpenAPI 3.1 at /api/v1/openapi.json)
  Live:      ws://${stack.gateway.url.slice("http://".length)}/graphql   (graphql-transport-ws; try the boardActivity subscription in GraphiQL)
  Signed in: ${owner.user.name} <${owner.user.email}>, OWNER of ${acme.name}
  Dev token: ${token}
  Try:       curl -s ${stack.gateway.url}/graphql -H 'content-type: application/json' \\
               -H 'authorization: Bearer <token>' -d '{"query":"{ me { name } boards { nodes { name } } }"}'
  Tokens for other users: npm run dev-token -- <email>   (e.g. katherine@acme.example, a VIEWER)
  Webhooks:  npm run webhooks:listen -- --token <token> --api ${stack.gateway.url}
             (registers a webhook to a local receiver and prints every delivery, verified; change an item to see one)
  Chat:      ${chat.slack || chat.teams ? `${[chat.slack && "Slack", chat.teams && "Teams"].filter(Boolean).join(" and ")} on; install at ${stack.gateway.url}/integrations/slack/install, Teams connect code at ${stack.gateway.url}/integrations/teams/install` : "Slack and Teams apps off (set SLACK_* / TEAMS_*, see README)"}
`);
