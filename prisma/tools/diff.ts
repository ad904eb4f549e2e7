// `npm run migrate:diff -- <name>`: writes prisma/migrations/<UTC timestamp>_<name>/migration.sql
// with the SQL that takes the migrations directory to prisma/schema.prisma (what
// `prisma migrate dev --create-only` would write), or prints "no changes".
// `npm run migrate:diff -- --check`: exit 1 when schema.prisma has changes that no migration
// captures, 0 when the migrations are up to date.
//
// Needs a Postgres server for the engine's shadow database (DATABASE_URL's server, else
// 127.0.0.1:5432): it creates a throw-away `prisma_migrate_shadow_db_*` database there and drops
// it. Without a server, `--pglite` uses an in-memory PGlite instead (slower start, ~8 s).
//
// Options: --schema <file>  --migrations <dir>  --server <postgres url>  --pglite
// Exit codes: 0 ok / up to date, 1 (--check) changes not captured, 2 usage or engine error.

import { existsSync, realpathSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import {
  DEFAULT_MIGRATIONS_DIR,
  DEFAULT_SCHEMA_PATH,
  MIGRATION_LOCK_CONTENT,
  MIGRATION_LOCK_FILE,
  ROOT_DIR,
  diffMigrationsToSchema,
  readMigrationsList,
  type DiffOptions,
  type ShadowDatabase,
} from "./schema-engine.ts";

/**
 * The CLI's migration name: `slugify(name, { separator: "_" }).substring(0, 200)`
 * (@sindresorhus/slugify: transliterate, split camelCase, lowercase, non-alphanumerics -> `_`).
 */
export function migrationSlug(name: string): string {
  return name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/([a-zA-Z\d]+)'([ts])(\s|$)/g, "$1$2$3")
    .replace(/([a-z\d])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z\d]+)/g, "$1_$2")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .substring(0, 200);
}

/** UTC `YYYYMMDDHHMMSS`, as the engine names migration directories. */
export function migrationTimestamp(date: Date = new Date()): string {
  return date.toISOString().replace(/[-:T]/g, "").slice(0, 14);
}

export interface CreateMigrationOptions extends DiffOptions {
  now?: Date;
}

export interface CreateMigrationResult {
  /** The new migration directory, or null when there were no changes. */
  directory: string | null;
  sql: string;
}

/** Creates the next migration from the diff (migrations directory -> schema), if any. */
export async function createMigration(name: string, options: CreateMigrationOptions = {}): Promise<CreateMigrationResult> {
  const slug = migrationSlug(name);
  if (!slug) throw new Error(`Migration name ${JSON.stringify(name)} has no usable characters.`);
  const migrationsDir = resolve(options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR);
  const sql = await diffMigrationsToSchema({ ...options, migrationsDir });
  if (!sql) return { directory: null, sql };

  const existing = (await readMigrationsList(migrationsDir)).migrationDirectories.map((d) => d.path);
  let timestamp = migrationTimestamp(options.now);
  const last = existing.at(-1)?.slice(0, 14);
  if (last && /^\d{14}$/.test(last) && last >= timestamp) {
    // Keep the order even if the clock is behind the newest migration.
    timestamp = String(BigInt(last) + 1n);
  }
  const directory = join(migrationsDir, `${timestamp}_${slug}`);
  if (existsSync(directory)) throw new Error(`The migration directory already exists at ${directory}`);
  await mkdir(directory, { recursive: true });
  await writeFile(join(directory, "migration.sql"), sql, "utf8");
  await writeFile(join(migrationsDir, MIGRATION_LOCK_FILE), MIGRATION_LOCK_CONTENT, "utf8");
  return { directory, sql };
}

/** An in-memory PGlite served over the wire, as engine server and shadow database at once. */
export async function startPgliteShadow(): Promise<{ serverUrl: string; shadow: () => Promise<ShadowDatabase>; stop(): Promise<void> }> {
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  const db = await PGlite.create();
  // Two connections: the engine's main connection stays open while it uses the shadow one.
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 2 });
  await server.start();
  const [host, port] = server.getServerConn().split(":");
  const config = { host: host ?? "127.0.0.1", port: Number(port), user: "postgres", database: "postgres" };
  return {
    serverUrl: `postgresql://postgres@${config.host}:${config.port}/postgres`,
    shadow: async () => ({ config, dispose: async () => {} }),
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

interface Args {
  name?: string;
  check: boolean;
  pglite: boolean;
  schemaPath?: string;
  migrationsDir?: string;
  serverUrl?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { check: false, pglite: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === "--check") args.check = true;
    else if (arg === "--pglite") args.pglite = true;
    else if (arg === "--schema") args.schemaPath = value();
    else if (arg === "--migrations") args.migrationsDir = value();
    else if (arg === "--server") args.serverUrl = value();
    else if (arg === "--name" || arg === "-n") args.name = value();
    else if (arg.startsWith("-")) throw new Error(`Unknown option ${arg}`);
    else if (args.name === undefined) args.name = arg;
    else throw new Error(`Unexpected argument ${arg}`);
  }
  return args;
}

async function main(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
    if (!args.check && !args.name) throw new Error("A migration name is required.");
  } catch (error) {
    console.error(
      `${(error as Error).message}\nUsage: npm run migrate:diff -- <name> | --check  [--schema <file>] [--migrations <dir>] [--server <url>] [--pglite]`,
    );
    return 2;
  }
  const pglite = args.pglite ? await startPgliteShadow() : undefined;
  const options: DiffOptions = {
    schemaPath: args.schemaPath ?? DEFAULT_SCHEMA_PATH,
    migrationsDir: args.migrationsDir ?? DEFAULT_MIGRATIONS_DIR,
    ...(args.serverUrl ? { serverUrl: args.serverUrl } : {}),
    ...(pglite ? { serverUrl: pglite.serverUrl, shadowDatabase: pglite.shadow } : {}),
  };
  try {
    if (args.check) {
      const sql = await diffMigrationsToSchema(options);
      if (!sql) {
        console.log("no changes: the migrations capture schema.prisma");
        return 0;
      }
      console.error("schema.prisma has changes that no migration captures; run `npm run migrate:diff -- <name>`:\n");
      console.error(sql);
      return 1;
    }
    const { directory } = await createMigration(args.name ?? "", options);
    if (!directory) {
      console.log("no changes");
      return 0;
    }
    const file = join(directory, "migration.sql");
    const shown = relative(ROOT_DIR, file);
    console.log(`created ${shown.startsWith("..") ? file : shown}`);
    return 0;
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    return 2;
  } finally {
    await pglite?.stop();
  }
}

const entry = process.argv[1];
if (entry && realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url))) {
  process.exitCode = await main(process.argv.slice(2));
}
