// Webhook signing secrets are stored encrypted so that a database dump alone does not let anyone
// forge deliveries. Each sealed value names its key, so keys can rotate: new values are sealed
// with the current key while values sealed with older keys still open until re-sealed.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

const VERSION = "v1";
const ALGORITHM = "aes-256-gcm";
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

export interface KeyRing {
  /** The id of the key that seals new values; it must be in `keys`. */
  readonly current: string;
  readonly keys: Readonly<Record<string, Buffer>>;
}

/** A sealed value that cannot be opened, or a key ring that cannot be used. */
export class SecretBoxError extends Error {
  override readonly name = "SecretBoxError";
}

function keyOf(ring: KeyRing, keyId: string): Buffer {
  const key = Object.hasOwn(ring.keys, keyId) ? ring.keys[keyId] : undefined;
  if (key === undefined) throw new SecretBoxError(`unknown key id ${JSON.stringify(keyId)}`);
  if (key.length !== KEY_BYTES) throw new SecretBoxError(`key ${keyId} is not ${KEY_BYTES} bytes`);
  return key;
}

/** Encrypts with the ring's current key: `v1.<keyId>.<base64 iv>.<base64 ciphertext+tag>`. */
export function seal(plaintext: string, ring: KeyRing): string {
  const key = keyOf(ring, ring.current);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  // The header is authenticated too, so a value cannot be relabelled with another key id.
  cipher.setAAD(Buffer.from(`${VERSION}.${ring.current}`));
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return `${VERSION}.${ring.current}.${iv.toString("base64")}.${body.toString("base64")}`;
}

/** Decrypts a value sealed with any key of the ring; refuses unknown keys and any tampering. */
export function open(sealed: string, ring: KeyRing): string {
  const parts = sealed.split(".");
  if (parts.length !== 4 || parts[0] !== VERSION) throw new SecretBoxError("not a v1 sealed value");
  const [, keyId = "", ivText = "", bodyText = ""] = parts;
  const key = keyOf(ring, keyId);
  const iv = Buffer.from(ivText, "base64");
  const body = Buffer.from(bodyText, "base64");
  if (iv.length !== IV_BYTES || body.length < TAG_BYTES) throw new SecretBoxError("malformed sealed value");
  const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(`${VERSION}.${keyId}`));
  decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString("utf8");
  } catch (error) {
    throw new SecretBoxError("sealed value failed authentication", { cause: error });
  }
}

/**
 * Parses `k1:<base64>,k2:<base64>` (the first id is current). Each key must decode to exactly
 * 32 bytes; ids are 1–32 of [A-Za-z0-9_-] and must be distinct.
 */
export function parseKeyRing(config: string): KeyRing {
  const entries = config
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  if (entries.length === 0) throw new SecretBoxError("the key ring is empty");
  const keys: Record<string, Buffer> = {};
  for (const entry of entries) {
    const colon = entry.indexOf(":");
    if (colon <= 0) throw new SecretBoxError(`key ring entry is not <id>:<base64 key>`);
    const id = entry.slice(0, colon);
    const text = entry.slice(colon + 1);
    if (!KEY_ID.test(id)) throw new SecretBoxError(`key id ${JSON.stringify(id)} is not 1-32 of [A-Za-z0-9_-]`);
    if (Object.hasOwn(keys, id)) throw new SecretBoxError(`key id ${id} appears twice`);
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw new SecretBoxError(`key ${id} is not base64`);
    const key = Buffer.from(text, "base64");
    if (key.length !== KEY_BYTES) throw new SecretBoxError(`key ${id} is ${key.length} bytes, not ${KEY_BYTES}`);
    keys[id] = key;
  }
  const current = entries[0]?.slice(0, entries[0].indexOf(":")) ?? "";
  return { current, keys };
}

/** A fresh random 32-byte key, base64, for a key ring entry. */
export function generateKey(): string {
  return randomBytes(KEY_BYTES).toString("base64");
}
