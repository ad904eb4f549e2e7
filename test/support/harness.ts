import pg from "pg";
import { migrate } from "../../prisma/tools/migrate.ts";
import { seedDemo, type DemoSeed } from "../../prisma/seed.ts";
import { createPrisma, type PrismaClient } from "../../subgraphs/shared/db.ts";
import type { Role } from "../../subgraphs/shared/identity.ts";
import { mintToken, type LocalJwtSettings } from "../../gateway/src/auth/jwt.ts";
import { startStack, type RunningStack } from "../../scripts/stack.ts";

/** Where tests create their throw-away databases: the machine's real Postgres. */
export const ADMIN_DATABASE_URL = process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

export const TEST_JWT: LocalJwtSettings = { secret: "test-jwt-secret-at-least-32-bytes!!", issuer: "sunday-test", audience: "sunday-api" };
export const TEST_SIGNING_SECRET = "test-internal-signing-secret";

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
  /** SQL statements the subgraphs sent since the last reset. */
  readonly sql: { count: number; reset(): void };
  token(org: 0 | 1, role: Role): Promise<string>;
  gql(token: string | null, query: string, variables?: Record<string, unknown>, operationName?: string): Promise<GraphQLResult>;
  dispose(): Promise<void>;
}

async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** A fresh database (migrated, seeded) and the whole stack on free ports, for one test file. */
export async function startHarness(name: string, options: { itemsPerBoard?: number } = {}): Promise<Harness> {
  const database = `sunday_test_${name}_${process.pid}`;
  await admin(async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${database}`);
  });
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${database}`;
  const databaseUrl = url.toString();
  await migrate(databaseUrl);
  const prisma = createPrisma({ url: databaseUrl, poolMax: 4 });
  const seed = await seedDemo(prisma, { itemsPerBoard: options.itemsPerBoard ?? 60 });
  const sql = {
    count: 0,
    reset() {
      this.count = 0;
    },
  };
  const stack = await startStack({
    databaseUrl,
    signingSecret: TEST_SIGNING_SECRET,
    jwt: TEST_JWT,
    poolMax: 4,
    onQuery: () => {
      sql.count += 1;
    },
  });
  return {
    stack,
    seed,
    prisma,
    databaseUrl,
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
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
    },
  };
}

/** The `extensions.code` of each error, for compact assertions. */
export function codes(result: GraphQLResult): (string | undefined)[] {
  return (result.body.errors ?? []).map((error) => error.extensions?.code);
}
