/**
 * A webhook's signing secrets as stored: sealed with the configured key ring (secret-box.ts), the
 * current one and, for a day after a rotation, the one it replaced. The API mints and rotates them
 * here; the dispatcher opens the ones that sign a delivery at the time it is sent.
 *
 * Rows written before secrets were sealed hold a secret in clear: 64 hex digits (the API's), or a
 * `whsec_` value (the demo seed's, written without a key ring). Nothing was ever delivered with the
 * hex ones, so they carry no receiver's expectations: each becomes the `whsec_` secret whose key is
 * those same 64 characters (what a receiver that HMACs with the string it was handed uses).
 * `sealStoredSecrets` seals both kinds at the runtime's start. It also re-seals values sealed with a key that is no longer
 * current, which is how a key is retired: put the new key first in the ring, start the runtime, then
 * drop the old key.
 */
import type { PrismaClient } from "../../../../platform/db.ts";
import { type KeyRing, open, seal } from "./secret-box.ts";
import { generateWebhookSecret, SECRET_PREFIX } from "./signature.ts";

/** How long a rotated-out secret keeps signing next to the new one. */
export const ROTATION_OVERLAP_MS = 24 * 3600 * 1000;

const SEALED = /^v1\.([A-Za-z0-9_-]{1,32})\./;
const LEGACY = /^[0-9a-f]{64}$/;

/** The stored secret columns of a webhook. */
export interface StoredSecrets {
  readonly secret: string;
  readonly previousSecret: string | null;
  readonly previousSecretExpiresAt: Date | null;
}

/** A new secret: the `whsec_` value to hand out once, and what to store. */
export function mintSecret(ring: KeyRing): { readonly secret: string; readonly sealed: string } {
  const secret = generateWebhookSecret();
  return { secret, sealed: seal(secret, ring) };
}

/** The `whsec_` secret a legacy clear-text value stands for. */
function fromLegacy(value: string): string {
  return SECRET_PREFIX + Buffer.from(value, "utf8").toString("base64");
}

/** Opens a stored secret: sealed, or (rows not yet sealed) clear text. */
export function openSecret(stored: string, ring: KeyRing): string {
  if (LEGACY.test(stored)) return fromLegacy(stored);
  if (stored.startsWith(SECRET_PREFIX)) return stored;
  return open(stored, ring);
}

/** The stored values that sign a delivery sent at `now`: the current one, and the previous one inside its overlap. */
export function activeSecrets(stored: StoredSecrets, now: Date): string[] {
  const overlapping = stored.previousSecret !== null && stored.previousSecretExpiresAt !== null && stored.previousSecretExpiresAt > now;
  return overlapping && stored.previousSecret !== null ? [stored.secret, stored.previousSecret] : [stored.secret];
}

/** The secrets that sign a delivery sent at `now`, opened. */
export function signingSecrets(stored: StoredSecrets, ring: KeyRing, now: Date): string[] {
  return activeSecrets(stored, now).map((value) => openSecret(value, ring));
}

/** What a rotation writes, and the new secret to hand out once. */
export function rotateSecret(
  stored: Pick<StoredSecrets, "secret">,
  ring: KeyRing,
  now: Date,
  overlapMs: number = ROTATION_OVERLAP_MS,
): { readonly secret: string; readonly data: { secret: string; previousSecret: string; previousSecretExpiresAt: Date } } {
  const { secret, sealed } = mintSecret(ring);
  // The old value is re-sealed rather than copied: a legacy clear-text one must not survive a rotation.
  const previous = seal(openSecret(stored.secret, ring), ring);
  return { secret, data: { secret: sealed, previousSecret: previous, previousSecretExpiresAt: new Date(now.getTime() + overlapMs) } };
}

/** True when the stored value is not sealed with the ring's current key (clear text, or an older key). */
export function needsSealing(stored: string, ring: KeyRing): boolean {
  return SEALED.exec(stored)?.[1] !== ring.current;
}

/**
 * Seals every clear-text secret and re-seals every one sealed with an older key, each row by a
 * compare-and-set on its old value (two runtimes starting at once both succeed, neither overwrites
 * the other's rotation). Returns the number of rows rewritten. A value no key of the ring opens is
 * left as it is and reported: its webhook cannot be signed for until the key is put back.
 */
export async function sealStoredSecrets(
  prisma: PrismaClient,
  ring: KeyRing,
  onUnreadable: (webhookId: string, error: unknown) => void = () => undefined,
): Promise<number> {
  const prefix = `v1.${ring.current}.`;
  const rows = await prisma.webhook.findMany({
    where: { OR: [{ NOT: { secret: { startsWith: prefix } } }, { previousSecret: { not: null }, NOT: { previousSecret: { startsWith: prefix } } }] },
    select: { id: true, secret: true, previousSecret: true },
  });
  let rewritten = 0;
  for (const row of rows) {
    let data: { secret: string; previousSecret: string | null };
    try {
      data = {
        secret: needsSealing(row.secret, ring) ? seal(openSecret(row.secret, ring), ring) : row.secret,
        previousSecret:
          row.previousSecret !== null && needsSealing(row.previousSecret, ring) ? seal(openSecret(row.previousSecret, ring), ring) : row.previousSecret,
      };
    } catch (error) {
      onUnreadable(row.id, error);
      continue;
    }
    const { count } = await prisma.webhook.updateMany({ where: { id: row.id, secret: row.secret, previousSecret: row.previousSecret }, data });
    rewritten += count;
  }
  return rewritten;
}
