// Migrations run through Prisma's own schema engine, in its WebAssembly build (see
// schema-engine.ts), not through a hand-written runner: the native engine binary that
// `prisma migrate deploy` needs cannot be downloaded here, but the wasm engine's applyMigrations
// is the same code. It takes the same advisory lock, creates and fills `_prisma_migrations` the
// same way (checksums, applied_steps_count, logs of a failed migration) and refuses to go on after
// a failed or edited migration, so a database migrated here can later be handed to
// `prisma migrate deploy` with the native engine, and vice versa. Measured working against
// PostgreSQL 15 and against PGlite served by @electric-sql/pglite-socket (one connection; the
// engine is given a pool of max 1). One deliberate difference from the plain wasm+adapter setup:
// each migration script is sent as a single query, so Postgres runs it in one implicit
// transaction like the native engine does (adapter-pg would split it on `;` and autocommit each
// piece). The database must exist already (`migrate deploy` does not create it either; PGlite
// cannot CREATE DATABASE at all).
//
// Usage: `npm run migrate` migrates DATABASE_URL (default: the URL in prisma.config.ts).

import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { toolsConfig } from "../../platform/config.ts";
import { applyMigrations, type ApplyOptions } from "./schema-engine.ts";

export type MigrateOptions = ApplyOptions;

/**
 * Applies the pending migrations of prisma/migrations to the database at `databaseUrl`, as
 * `prisma migrate deploy` would. Idempotent: returns the names applied by this call (empty when
 * the database was up to date). Rejects on a failed migration, which stays recorded in
 * `_prisma_migrations` and must be resolved before migrating again (as with Prisma).
 */
export async function migrate(databaseUrl: string, options: MigrateOptions = {}): Promise<{ applied: string[] }> {
  return applyMigrations(databaseUrl, options);
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}

async function main(): Promise<number> {
  const url = toolsConfig().databaseUrl;
  const started = performance.now();
  try {
    const { applied } = await migrate(url);
    const ms = Math.round(performance.now() - started);
    if (applied.length === 0) console.log(`${redact(url)}: no pending migrations (${ms} ms)`);
    else console.log(`${redact(url)}: applied ${applied.join(", ")} (${ms} ms)`);
    return 0;
  } catch (error) {
    console.error(`${redact(url)}: migration failed\n${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

const entry = process.argv[1];
if (entry && realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url))) {
  process.exitCode = await main();
}
