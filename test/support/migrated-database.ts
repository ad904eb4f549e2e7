// Throw-away databases for test files: created fresh under the test server (TEST_DATABASE_URL),
// migrated, and dropped again. The harness seeds one and starts the stack on it; suites that need
// tables but neither the demo data nor a running stack take `migratedDatabase`.
import { after, before } from "node:test";
import pg from "pg";
import { createPrisma, type PrismaClient } from "../../platform/db.ts";
import { migrate } from "../../prisma/tools/migrate.ts";
import { ADMIN_DATABASE_URL, preflight } from "./preflight.ts";

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export interface FreshDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/** Creates `sunday_test_<name>_<pid>` (dropping a leftover of a crashed run first) and migrates it. */
export async function freshDatabase(name: string): Promise<FreshDatabase> {
  const database = `sunday_test_${name}_${process.pid}`;
  await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${database}`);
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${database}`;
  await migrate(url.toString());
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`) };
}

/**
 * Registers before/after hooks that make a fresh database and open a Prisma client on it, then
 * close and drop it. The client returned stands for the one opened by the hook (a module-level
 * `const prisma = migratedDatabase(…)` reads naturally in tests); using it before the hook has
 * run throws.
 */
export function migratedDatabase(name: string, poolMax = 8): PrismaClient {
  let database: FreshDatabase | undefined;
  let prisma: PrismaClient | undefined;
  before(async () => {
    await preflight("postgres");
    database = await freshDatabase(name);
    prisma = createPrisma({ url: database.url, poolMax });
  });
  after(async () => {
    await prisma?.$disconnect();
    await database?.drop();
  });
  const client = (): PrismaClient => {
    if (!prisma) throw new Error(`the database of ${name} is not ready (use it inside a test)`);
    return prisma;
  };
  return standIn(client);
}

/** A stand-in for the object `current()` returns once a hook has made it (see `migratedDatabase`). */
function standIn<T extends object>(current: () => T): T {
  return new Proxy({} as T, {
    get(_target, key) {
      const value: unknown = Reflect.get(current(), key);
      return typeof value === "function" ? value.bind(current()) : value;
    },
  });
}

/**
 * `migratedDatabase` for suites that speak SQL through `pg`: a fresh migrated database and one
 * connected client on it, made by a before hook and closed and dropped by an after hook.
 */
export function migratedPgClient(name: string): pg.Client {
  let database: FreshDatabase | undefined;
  let client: pg.Client | undefined;
  before(async () => {
    await preflight("postgres");
    database = await freshDatabase(name);
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
  });
  after(async () => {
    await client?.end();
    await database?.drop();
  });
  return standIn(() => {
    if (!client) throw new Error(`the database of ${name} is not ready (use it inside a test)`);
    return client;
  });
}
