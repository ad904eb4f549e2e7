// `npm run dev-token -- <email>`: prints a development token for a user of the database that
// `npm start` uses: DATABASE_URL when set; else the embedded one, through the address a running
// `npm start` left in .data/ (PGlite takes one process only), or opened here when none runs.
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { devTokenConfig, pgliteDataDir } from "../platform/config.ts";

/** The embedded database's data dir (PGLITE_DATA_DIR, relative to the repository root). @default .data/pglite */
export function embeddedDataDir(): string {
  return pgliteDataDir();
}

/** Where a running `npm start` tells other processes how to reach its embedded database. */
export function embeddedAddressFile(dataDir = embeddedDataDir()): string {
  return `${dataDir}.address.json`;
}

export interface EmbeddedAddress {
  readonly url: string;
  readonly pid: number;
}

/** The embedded database's URL if an `npm start` that serves it is still running. */
function runningEmbedded(dataDir: string): string | undefined {
  const file = embeddedAddressFile(dataDir);
  if (!existsSync(file)) return undefined;
  const { url, pid } = JSON.parse(readFileSync(file, "utf8")) as EmbeddedAddress;
  try {
    process.kill(pid, 0);
    return url;
  } catch {
    return undefined; // left behind by an `npm start` that was killed
  }
}

/**
 * The database tools work on: `databaseUrl` when given, else the embedded one (through a running
 * `npm start`, or opened here for the tool's lifetime: `dispose` closes it).
 */
export async function openToolDatabase(databaseUrl: string | undefined, dataDir: string): Promise<{ url: string; dispose(): Promise<void> }> {
  const url = databaseUrl ?? runningEmbedded(dataDir);
  if (url) return { url, dispose: async () => {} };
  if (!existsSync(join(dataDir, "PG_VERSION")))
    throw new Error(`no database yet at ${dataDir}: run \`npm start\` once (it creates and seeds it), or set DATABASE_URL`);
  const { startEmbeddedPostgres } = await import("../infra/embedded/pglite.ts");
  const embedded = await startEmbeddedPostgres({ dataDir, maxConnections: 4 });
  return { url: embedded.url, dispose: () => embedded.dispose() };
}

async function main(email: string) {
  const { createPrisma } = await import("../platform/db.ts");
  const { mintToken } = await import("../gateway/src/auth/jwt.ts");
  const config = devTokenConfig();
  const database = await openToolDatabase(config.databaseUrl, config.pgliteDataDir);
  const url = database.url;
  const stopEmbedded = () => database.dispose();
  const prisma = createPrisma({ url, poolMax: 1 });
  try {
    const user = await prisma.user.findFirst({ where: { email }, include: { memberships: { where: { removedAt: null } } } });
    const membership = user?.memberships[0];
    if (!user || !membership) throw new Error(`no active member with email ${email}`);
    console.log(await mintToken({ userId: user.id, organizationId: user.organizationId, role: membership.role }, config.jwt));
  } finally {
    await prisma.$disconnect();
    await stopEmbedded();
  }
}

if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  const email = process.argv[2];
  if (!email) {
    console.error("usage: npm run dev-token -- <email>");
    process.exit(2);
  }
  await main(email);
}
