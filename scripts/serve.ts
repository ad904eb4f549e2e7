// One process per part, for docker-compose and production: `node scripts/serve.ts <part>`
// where <part> is users | projects | items | integrations | gateway. Configured by environment:
// DATABASE_URL, INTERNAL_SIGNING_SECRET, PORT, HOST, {USERS,PROJECTS,ITEMS,INTEGRATIONS}_URL,
// and for the gateway JWT_SECRET / JWT_ISSUER / JWT_AUDIENCE, SUPERGRAPH_PATH and REDIS_URL (rate
// limits, APQ and live subscriptions; without it the gateway serves no subscriptions).
import { Redis } from "ioredis";
import { createPrisma } from "../platform/db.ts";
import type { SubgraphRuntime } from "../subgraphs/shared/server.ts";
import { startUsersSubgraph } from "../subgraphs/users/src/index.ts";
import { startProjectsSubgraph } from "../subgraphs/projects/src/index.ts";
import { startItemsSubgraph } from "../subgraphs/items/src/index.ts";
import { startIntegrationsSubgraph } from "../subgraphs/integrations/src/index.ts";
import { startGateway } from "../gateway/src/server.ts";
import { redisFeed, redisPresenceStore } from "../gateway/src/subscriptions/index.ts";
import { jwtSettingsFromEnv } from "./dev-token.ts";
import { SUPERGRAPH_PATH } from "./stack.ts";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set`);
  return value;
}

const part = process.argv[2];
const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? "0.0.0.0";
const signingSecret = required("INTERNAL_SIGNING_SECRET");
const peers = {
  users: process.env.USERS_URL,
  projects: process.env.PROJECTS_URL,
  items: process.env.ITEMS_URL,
  integrations: process.env.INTEGRATIONS_URL,
};

const starters = {
  users: startUsersSubgraph,
  projects: startProjectsSubgraph,
  items: startItemsSubgraph,
  integrations: startIntegrationsSubgraph,
} as const;

let running: { dispose(): Promise<void> };
let prisma: ReturnType<typeof createPrisma> | null = null;
if (part === "gateway") {
  const redis = process.env.REDIS_URL ? new Redis(process.env.REDIS_URL) : undefined;
  running = await startGateway({
    supergraph: { path: process.env.SUPERGRAPH_PATH ?? SUPERGRAPH_PATH.pathname },
    redis,
    // Live subscriptions read what the bridge (events/main.ts bridge) appends to Redis.
    subscriptions: redis ? { feed: redisFeed(redis), presence: redisPresenceStore(redis) } : undefined,
    signingSecret,
    jwt: jwtSettingsFromEnv(),
    subgraphUrls: Object.fromEntries(Object.entries(peers).filter((entry): entry is [string, string] => entry[1] !== undefined)),
    port,
    host,
    development: process.env.NODE_ENV !== "production",
  });
} else if (part === "users" || part === "projects" || part === "items" || part === "integrations") {
  prisma = createPrisma({ url: required("DATABASE_URL") });
  const runtime: SubgraphRuntime = { prisma, signingSecret, port, host, peers };
  running = await starters[part](runtime);
} else {
  console.error("usage: serve.ts users|projects|items|integrations|gateway");
  process.exit(2);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void running
      .dispose()
      .then(() => prisma?.$disconnect())
      .then(() => process.exit(0));
  });
}
