// A fresh, migrated, unseeded database of its own for a test file (dropped again afterwards), for
// suites that need tables but not the demo data or a running stack.
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

/**
 * Registers before/after hooks that create `sunday_test_<name>_<pid>`, migrate it and open a
 * Prisma client on it, then close and drop it. The client returned stands for the one opened by
 * the hook (a module-level `const prisma = migratedDatabase(…)` reads naturally in tests); using it
 * before the hook has run throws.
 */
export function migratedDatabase(name: string, poolMax = 8): PrismaClient {
  const database = `sunday_test_${name}_${process.pid}`;
  let prisma: PrismaClient | undefined;
  before(async () => {
    await preflight("postgres");
    await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin(`CREATE DATABASE ${database}`);
    const url = new URL(ADMIN_DATABASE_URL);
    url.pathname = `/${database}`;
    await migrate(url.toString());
    prisma = createPrisma({ url: url.toString(), poolMax });
  });
  after(async () => {
    await prisma?.$disconnect();
    await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });
  const client = (): PrismaClient => {
    if (!prisma) throw new Error(`the database ${database} is not ready (use it inside a test)`);
    return prisma;
  };
  return new Proxy({} as PrismaClient, {
    get(_target, key) {
      const value: unknown = Reflect.get(client(), key);
      return typeof value === "function" ? value.bind(client()) : value;
    },
  });
}
