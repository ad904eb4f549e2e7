// Migrations: prisma/migrations applied through prisma/tools/migrate.ts to a fresh PostgreSQL
// database and to an in-memory PGlite served over the wire, and the migrations directory checked
// against schema.prisma.
//
// Needs PostgreSQL at TEST_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres)
// with the right to CREATE DATABASE. Run: node --test test/migrations.test.ts

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readFile, readdir } from "node:fs/promises";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";

import { PGlite } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import pg from "pg";

import { migrate } from "../prisma/tools/migrate.ts";
import { ADMIN_DATABASE_URL, preflight } from "./support/preflight.ts";
import { DEFAULT_MIGRATIONS_DIR, DEFAULT_SCHEMA_PATH, ROOT_DIR, diffMigrationsToSchema } from "../prisma/tools/schema-engine.ts";

const SERVER_URL = ADMIN_DATABASE_URL;

function urlForDatabase(database: string): string {
  const u = new URL(SERVER_URL);
  u.pathname = `/${database}`;
  return u.toString();
}

interface ExpectedTable {
  schema: string;
  table: string;
}

/** Every model of schema.prisma with its Postgres schema and table name (@@schema, @@map). */
async function expectedTables(): Promise<ExpectedTable[]> {
  const source = await readFile(DEFAULT_SCHEMA_PATH, "utf8");
  const tables: ExpectedTable[] = [];
  let current: { table: string; schema?: string } | undefined;
  for (const line of source.split("\n")) {
    const open = /^model\s+(\w+)\s*\{/.exec(line);
    if (open?.[1]) current = { table: open[1] };
    else if (current && /^\}/.test(line)) {
      assert.ok(current.schema, `model ${current.table} has no @@schema`);
      tables.push({ schema: current.schema, table: current.table });
      current = undefined;
    } else if (current) {
      const schema = /^\s*@@schema\("([^"]+)"\)/.exec(line)?.[1];
      if (schema) current.schema = schema;
      const map = /^\s*@@map\("([^"]+)"\)/.exec(line)?.[1];
      if (map) current.table = map;
    }
  }
  return tables;
}

async function migrationNames(): Promise<string[]> {
  const entries = await readdir(DEFAULT_MIGRATIONS_DIR, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

async function sha256(file: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(file))
    .digest("hex");
}

describe("migrations on PostgreSQL", () => {
  const database = `sunday_migrate_test_${randomBytes(5).toString("hex")}`;
  const databaseUrl = urlForDatabase(database);
  let admin: pg.Client;
  let client: pg.Client;

  before(async () => {
    await preflight("postgres");
    admin = new pg.Client({ connectionString: SERVER_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${database}"`);
    client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
  });

  after(async () => {
    await client?.end();
    await admin?.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await admin?.end();
  });

  test("migrate() applies every migration to a fresh database", async () => {
    const names = await migrationNames();
    assert.ok(
      names.some((n) => /^\d{14}_init$/.test(n)),
      "an init migration exists",
    );

    const { applied } = await migrate(databaseUrl);
    assert.deepEqual(applied, names);

    const { rows: present } = await client.query<{ table_schema: string; table_name: string }>(`SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'`);
    const have = new Set(present.map((r) => `${r.table_schema}.${r.table_name}`));
    const expected = await expectedTables();
    for (const schema of ["users", "projects", "items", "integrations", "events"]) {
      assert.ok(
        expected.some((t) => t.schema === schema),
        `schema.prisma has models in ${schema}`,
      );
    }
    for (const { schema, table } of expected) {
      assert.ok(have.has(`${schema}.${table}`), `table ${schema}.${table} exists`);
    }

    const { rows: enums } = await client.query<{ n: string }>(`SELECT n.nspname || '.' || t.typname AS n FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype = 'e'`);
    assert.ok(
      enums.some((e) => e.n === "users.MembershipRole"),
      "enum users.MembershipRole exists",
    );

    const { rows } = await client.query<{
      migration_name: string;
      checksum: string;
      finished_at: Date | null;
      rolled_back_at: Date | null;
      applied_steps_count: number;
      logs: string | null;
    }>(`SELECT * FROM public._prisma_migrations ORDER BY started_at`);
    assert.deepEqual(
      rows.map((r) => r.migration_name),
      names,
    );
    const init = rows[0];
    assert.ok(init);
    assert.ok(init.finished_at instanceof Date, "init migration finished");
    assert.equal(init.rolled_back_at, null);
    assert.equal(init.applied_steps_count, 1);
    assert.equal(init.logs, null);
    assert.equal(init.checksum, await sha256(join(DEFAULT_MIGRATIONS_DIR, init.migration_name, "migration.sql")));
  });

  test("running migrate() again applies nothing", async () => {
    const before = await client.query(`SELECT id, finished_at FROM public._prisma_migrations ORDER BY id`);
    const { applied } = await migrate(databaseUrl);
    assert.deepEqual(applied, []);
    const afterRows = await client.query(`SELECT id, finished_at FROM public._prisma_migrations ORDER BY id`);
    assert.deepEqual(afterRows.rows, before.rows);
  });

  test("the migrations directory matches schema.prisma (migrate:diff --check)", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["prisma/tools/diff.ts", "--check", "--server", SERVER_URL], { cwd: ROOT_DIR, timeout: 90_000 });
    assert.match(stdout, /no changes/);
  });

  test("a schema change not captured by a migration is detected", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sunday-schema-"));
    try {
      const schema = await readFile(DEFAULT_SCHEMA_PATH, "utf8");
      const changed = schema.replace(/(model ProcessedEvent \{\n)/, "$1  driftCheckColumn String?\n");
      assert.notEqual(changed, schema);
      const schemaPath = join(dir, "schema.prisma");
      await writeFile(schemaPath, changed);
      const sql = await diffMigrationsToSchema({ schemaPath, serverUrl: SERVER_URL });
      assert.match(sql, /ALTER TABLE "events"\."ProcessedEvent" ADD COLUMN\s+"driftCheckColumn" TEXT/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("migrations on PGlite (pglite-socket)", () => {
  test("migrate() works against an in-memory PGlite served over the wire", async () => {
    const db = new PGlite({ extensions: { pg_trgm } });
    const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0 });
    await server.start();
    try {
      const url = `postgresql://postgres@${server.getServerConn()}/postgres`;
      const { applied } = await migrate(url);
      assert.deepEqual(applied, await migrationNames());

      const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'items' AND table_name = 'Item'`);
      assert.equal(rows[0]?.n, 1);
      const { rows: migrations } = await db.query<{ finished: boolean }>(`SELECT finished_at IS NOT NULL AS finished FROM _prisma_migrations`);
      assert.ok(migrations.length > 0 && migrations.every((m) => m.finished));

      assert.deepEqual((await migrate(url)).applied, []);
    } finally {
      await server.stop();
      await db.close();
    }
  });
});
