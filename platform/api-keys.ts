import { createHash, randomBytes } from "node:crypto";
import type { Role } from "./identity.ts";

/** `sk_sunday_` + 43 base64url characters (32 random bytes). */
export const API_KEY_PATTERN = /^sk_sunday_[A-Za-z0-9_-]{43}$/;

/** Keys carry 256 random bits, so a fast hash is enough: there is nothing to brute-force. */
export function hashApiKey(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

export function generateApiKey(): { secret: string; prefix: string; hash: string } {
  const secret = `sk_sunday_${randomBytes(32).toString("base64url")}`;
  return { secret, prefix: secret.slice(0, 14), hash: hashApiKey(secret) };
}

const RANK: Record<Role, number> = { GUEST: 0, VIEWER: 1, MEMBER: 2, ADMIN: 3, OWNER: 4 };

/** The weaker of two roles: a key never acts with more than its creator has now. */
export function weakerRole(a: Role, b: Role): Role {
  return RANK[a] <= RANK[b] ? a : b;
}

export function roleAtMost(role: Role, ceiling: Role): boolean {
  return RANK[role] <= RANK[ceiling];
}
