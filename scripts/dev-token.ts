// `npm run dev-token -- <email>`: prints a development token for a user of the database that
// `npm start` uses (DATABASE_URL, or the embedded one while `npm start` runs on its default port).
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { JwtSettings, LocalJwtSettings } from "../gateway/src/auth/jwt.ts";

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
  const { createPrisma } = await import("../subgraphs/shared/db.ts");
  const { mintToken } = await import("../gateway/src/auth/jwt.ts");
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("set DATABASE_URL (the embedded database listens on the URL npm start printed)");
  const prisma = createPrisma({ url, poolMax: 1 });
  try {
    const user = await prisma.user.findFirst({ where: { email }, include: { memberships: { where: { removedAt: null } } } });
    const membership = user?.memberships[0];
    if (!user || !membership) throw new Error(`no active member with email ${email}`);
    console.log(await mintToken({ userId: user.id, organizationId: user.organizationId, role: membership.role }, devJwtSettings()));
  } finally {
    await prisma.$disconnect();
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
