import { Redis } from "ioredis";
import type { RedisClient } from "../../platform/redis.ts";
import type { Logger } from "../../platform/logger.ts";
import type { GatewayOptions } from "../../gateway/src/server.ts";
import { seedDemo, type DemoSeed } from "../../prisma/seed.ts";
import { createPrisma, type PrismaClient } from "../../platform/db.ts";
import type { Role } from "../../platform/identity.ts";
import { mintToken, type LocalJwtSettings } from "../../gateway/src/auth/jwt.ts";
import { startStack, type RunningStack } from "../../scripts/stack.ts";
import { redisFeed, redisPresenceStore, type SubscriptionsSetup } from "../../gateway/src/subscriptions/index.ts";
import { freshDatabase } from "./migrated-database.ts";
import type { WebhookSettings } from "../../subgraphs/integrations/src/webhook-settings.ts";
import { ADMIN_DATABASE_URL, TEST_REDIS_URL, preflight } from "./preflight.ts";

export { ADMIN_DATABASE_URL, TEST_REDIS_URL };

export const TEST_JWT: LocalJwtSettings = { secret: "test-jwt-secret-at-least-32-bytes!!", issuer: "sunday-test", audience: "sunday-api" };
export const TEST_SIGNING_SECRET = "test-internal-signing-secret";

export interface HarnessOptions {
  itemsPerBoard?: number;
  /** Rate limits of this harness's gateway. @default generous: tests of other things never hit them */
  rateLimit?: GatewayOptions["rateLimit"];
  /** A Redis client for the gateway. @default a client of the machine's Redis (keys prefixed per harness) */
  redis?: RedisClient;
  /** Captures what the gateway and subgraphs log. */
  logger?: Logger;
  /** Serve a supergraph file (hot reload) instead of the checked-in SDL. */
  supergraphPath?: string;
  /** Live subscriptions on the gateway, reading the Redis streams under this harness's prefix (see test/support/live.ts). */
  subscriptions?: Partial<SubscriptionsSetup>;
  /**
   * How long the gateway reuses an API key lookup. @default 0: a revoked key fails on the next
   * request, so tests need not wait out a cache (production keeps 30 s).
   */
  apiKeyCacheTtlMs?: number;
  /** Webhook secrets' key ring and target rules. @default ephemeralWebhookSettings(): private targets allowed, http accepted */
  webhooks?: WebhookSettings;
  /** Where the gateway hands Slack's and Teams' requests (see test/support/chat.ts). */
  integrationsRuntimeUrl?: GatewayOptions["integrationsRuntimeUrl"];
  /** Called after each subgraph mutation (StackOptions.onMutation). */
  onMutation?: () => void;
  /** The gateway's API usage recording (StackOptions.usage). @default none */
  usage?: GatewayOptions["usage"];
}

export interface GraphQLResult {
  status: number;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; path?: unknown[]; extensions?: { code?: string } }[] };
}

export interface Harness {
  readonly stack: RunningStack;
  readonly seed: DemoSeed;
  /** A client of the test database for setting up and checking rows directly. */
  readonly prisma: PrismaClient;
  readonly databaseUrl: string;
  readonly redis: RedisClient;
  /** Prefix of every Redis key this harness's gateway writes. */
  readonly redisPrefix: string;
  /** SQL statements the subgraphs sent since the last reset. */
  readonly sql: { count: number; reset(): void };
  token(org: 0 | 1, role: Role): Promise<string>;
  gql(token: string | null, query: string, variables?: Record<string, unknown>, operationName?: string): Promise<GraphQLResult>;
  dispose(): Promise<void>;
}

/** A fresh database (migrated, seeded) and the whole stack on free ports, for one test file. */
export async function startHarness(name: string, options: HarnessOptions = {}): Promise<Harness> {
  await preflight("postgres", ...(options.redis ? [] : (["redis"] as const)));
  const database = await freshDatabase(name);
  const databaseUrl = database.url;
  const prisma = createPrisma({ url: databaseUrl, poolMax: 4 });
  // Whatever fails before the harness is made, the database must not outlive the run.
  const dropDatabase = async () => {
    await prisma.$disconnect();
    await database.drop();
  };
  const seed = await seedDemo(prisma, { itemsPerBoard: options.itemsPerBoard ?? 60 }).catch(async (error: unknown) => {
    await dropDatabase();
    throw error;
  });
  const sql = {
    count: 0,
    reset() {
      this.count = 0;
    },
  };
  const ownRedis = options.redis === undefined;
  const redis = options.redis ?? new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  const redisPrefix = `test:${name}:${process.pid}:`;
  // Whatever fails from here on, the clients opened so far must not keep the test process alive.
  const abandon = async () => {
    if (ownRedis) redis.disconnect();
    await dropDatabase();
  };
  const stack = await startStack({
    databaseUrl,
    signingSecret: TEST_SIGNING_SECRET,
    jwt: TEST_JWT,
    poolMax: 4,
    redis,
    redisPrefix,
    rateLimit: options.rateLimit ?? { perMinute: 100_000, perHour: 1_000_000 },
    logger: options.logger,
    onMutation: options.onMutation,
    supergraphPath: options.supergraphPath,
    subscriptions: options.subscriptions
      ? {
          feed: redisFeed(redis),
          presence: redisPresenceStore(redis, redisPrefix),
          streamPrefix: redisPrefix,
          ...options.subscriptions,
        }
      : undefined,
    apiKeyCacheTtlMs: options.apiKeyCacheTtlMs ?? 0,
    webhooks: options.webhooks,
    integrationsRuntimeUrl: options.integrationsRuntimeUrl,
    usage: options.usage,
    onQuery: () => {
      sql.count += 1;
    },
  }).catch(async (error: unknown) => {
    await abandon();
    throw error;
  });
  return {
    stack,
    seed,
    prisma,
    databaseUrl,
    redis,
    redisPrefix,
    sql,
    token(org, role) {
      const organization = seed.organizations[org];
      return mintToken({ userId: organization.userIdsByRole[role], organizationId: organization.id, role }, TEST_JWT);
    },
    async gql(token, query, variables = {}, operationName) {
      const response = await fetch(`${stack.gateway.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables, operationName }),
      });
      return { status: response.status, body: (await response.json()) as GraphQLResult["body"] };
    },
    async dispose() {
      await stack.dispose();
      await prisma.$disconnect();
      if (ownRedis) {
        const keys = await redis.keys(`${redisPrefix}*`);
        if (keys.length > 0) await redis.del(...keys);
        redis.disconnect();
      }
      await database.drop();
    },
  };
}

/** The `extensions.code` of each error, for compact assertions. */
export function codes(result: GraphQLResult): (string | undefined)[] {
  return (result.body.errors ?? []).map((error) => error.extensions?.code);
}
