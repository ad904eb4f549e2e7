// Outgoing webhook signatures, per the Standard Webhooks spec (https://www.standardwebhooks.com):
// any receiver using a Standard Webhooks / Svix verifier library can check our requests as is.
//
//   webhook-signature = "v1,<base64 HMAC-SHA256(key, `${id}.${timestamp}.${body}`)>" [" v1,..."]*
//
// where key is the base64-decoded part of the secret after "whsec_". One signature per active
// secret, so a receiver keeps verifying while a secret is rotated (old and new both sign until the
// old one is retired). The signed content binds the id (receivers dedupe on it) and the timestamp
// (receivers refuse stale requests, 5 minutes in the reference libraries) to the exact body bytes.
import { createHmac, randomBytes } from "node:crypto";

export const SECRET_PREFIX = "whsec_";
/** Spec bounds for the secret's key length: shorter is weak, longer is not accepted by every verifier. */
export const MIN_SECRET_BYTES = 24;
export const MAX_SECRET_BYTES = 64;
/** Length of the keys we mint. */
export const DEFAULT_SECRET_BYTES = 32;

export const WEBHOOK_USER_AGENT = "Sunday-Webhooks/1";
/**
 * Event type header. Not part of the Standard Webhooks spec and NOT covered by the signature: it lets
 * a receiver route (or drop) a request before parsing the body; the authoritative type is the `type`
 * field of the signed JSON body. `x-` prefixed and vendor-scoped so it cannot clash with `webhook-*`.
 */
export const EVENT_TYPE_HEADER = "x-sunday-event-type";

/** Mints a new endpoint secret: "whsec_" + base64 of `bytes` random bytes (24..32, default 32). */
export function generateWebhookSecret(bytes: number = DEFAULT_SECRET_BYTES): string {
  if (!Number.isInteger(bytes) || bytes < MIN_SECRET_BYTES || bytes > 32) {
    throw new RangeError(`webhook secret length must be an integer between ${MIN_SECRET_BYTES} and 32 bytes, got ${bytes}`);
  }
  return SECRET_PREFIX + randomBytes(bytes).toString("base64");
}

export interface WebhookMessage {
  /** Unique per message, stable across retries of it (receivers use it for idempotency). */
  id: string;
  /** Unix time in whole seconds of this attempt (re-signed on each retry so it stays fresh). */
  timestamp: number;
  /** The exact request body that will be sent. */
  body: string;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Decodes the key of a "whsec_..." secret; throws on a malformed one (never sign with a garbage key). */
function secretKey(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new TypeError(`webhook secret must start with "${SECRET_PREFIX}"`);
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (encoded.length % 4 !== 0 || !BASE64.test(encoded)) throw new TypeError("webhook secret is not valid base64 after the prefix");
  const key = Buffer.from(encoded, "base64");
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
    throw new RangeError(`webhook secret key must be ${MIN_SECRET_BYTES}..${MAX_SECRET_BYTES} bytes, got ${key.length}`);
  }
  return key;
}

function checkMessage({ id, timestamp }: WebhookMessage): void {
  // The id and timestamp go into headers and into the "."-joined signed content.
  if (id.length === 0 || !/^[\x21-\x7e]+$/.test(id)) throw new TypeError("webhook id must be non-empty printable ASCII without spaces");
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new TypeError("webhook timestamp must be a non-negative integer of seconds");
}

/** The `webhook-signature` header value: one "v1,<sig>" per secret, space-separated. */
export function signWebhook(message: WebhookMessage, secrets: readonly string[]): string {
  if (secrets.length === 0) throw new TypeError("at least one webhook secret is required");
  checkMessage(message);
  const content = `${message.id}.${message.timestamp}.${message.body}`;
  return secrets.map((secret) => `v1,${createHmac("sha256", secretKey(secret)).update(content, "utf8").digest("base64")}`).join(" ");
}

export interface WebhookHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
  "content-type": "application/json";
  "user-agent": string;
  [EVENT_TYPE_HEADER]: string;
}

/** All headers of one delivery attempt of `message` (whose body is JSON) of event type `eventType`. */
export function webhookHeaders(message: WebhookMessage & { eventType: string }, secrets: readonly string[]): WebhookHeaders {
  if (!/^[\x21-\x7e]+$/.test(message.eventType)) throw new TypeError("webhook event type must be non-empty printable ASCII without spaces");
  return {
    "webhook-id": message.id,
    "webhook-timestamp": String(message.timestamp),
    "webhook-signature": signWebhook(message, secrets),
    "content-type": "application/json",
    "user-agent": WEBHOOK_USER_AGENT,
    [EVENT_TYPE_HEADER]: message.eventType,
  };
}
