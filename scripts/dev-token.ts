// `npm run dev-token -- <email>`: prints a development token for a user of the database that
// `npm start` uses: DATABASE_URL when set; else the embedded one, through the address a running
// `npm start` left in .data/ (PGlite takes one process only), or opened here when none runs.
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { JwtSettings, LocalJwtSettings } from "../gateway/src/auth/jwt.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** The embedded database's data dir (`PGLITE_DATA_DIR`, relative to the repository root). @default .data/pglite */
export function embeddedDataDir(): string {
  const dir = process.env.PGLITE_DATA_DIR ?? ".data/pglite";
  return isAbsolute(dir) ? dir : resolve(ROOT, dir);
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

/** Development-only HS256 settings; production verifies RS256/ES256 through a JWKS URL instead. */
export function devJwtSettings(): LocalJwtSettings {
  const secret = process.env.JWT_SECRET ?? "sunday-development-only-jwt-secret-do-not-deploy";
  if (process.env.NODE_ENV === "production" && !process.env.JWT_SECRET) throw new Error("JWT_SECRET must be set in production");
  return { secret, issuer: process.env.JWT_ISSUER ?? "sunday-dev", audience: process.env.JWT_AUDIENCE ?? "sunday-api" };
}

/** What the gateway verifies with: the identity provider's JWKS when JWT_JWKS_URL is set, else the local key. */
export function jwtSettingsFromEnv(): JwtSettings {
  const jwksUrl = process.env.JWT_JWKS_URL;
  if (!jwksUrl) return devJwtSettings();
  return { jwksUrl, issuer: process.env.JWT_ISSUER ?? "sunday-dev", audience: process.env.JWT_AUDIENCE ?? "sunday-api" };
}

async function main(email: string) {
  const { createPrisma } = await import("../platform/db.ts");
  const { mintToken } = await import("../gateway/src/auth/jwt.ts");
  const dataDir = embeddedDataDir();
  let url = process.env.DATABASE_URL ?? runningEmbedded(dataDir);
  let stopEmbedded = async () => {};
  if (!url) {
    if (!existsSync(join(dataDir, "PG_VERSION"))) throw new Error(`no database yet at ${dataDir}: run \`npm start\` once (it creates and seeds it), or set DATABASE_URL`);
    const { startEmbeddedPostgres } = await import("../infra/embedded/pglite.ts");
    const embedded = await startEmbeddedPostgres({ dataDir, maxConnections: 2 });
    url = embedded.url;
    stopEmbedded = () => embedded.dispose();
  }
  const prisma = createPrisma({ url, poolMax: 1 });
  try {
    const user = await prisma.user.findFirst({ where: { email }, include: { memberships: { where: { removedAt: null } } } });
    const membership = user?.memberships[0];
    if (!user || !membership) throw new Error(`no active member with email ${email}`);
    console.log(await mintToken({ userId: user.id, organizationId: user.organizationId, role: membership.role }, devJwtSettings()));
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
