/**
 * The receiving side of signature.ts: checks a Standard Webhooks request the way the reference
 * verifiers do (webhook-id / webhook-timestamp / webhook-signature, 5 minute tolerance, any one of
 * several space-separated `v1,` signatures may match), for our own tools (scripts/webhooks-listen.ts)
 * and tests. Partners use a Standard Webhooks library instead; the expected signature comes from
 * signWebhook itself, so this verifier cannot drift from what the dispatcher sends.
 *
 * Unlike the reference libraries it returns why a request was refused instead of throwing, so a
 * caller can show the reason; only a malformed secret (a configuration error, not a bad request) throws.
 */
import { timingSafeEqual } from "node:crypto";
import { signWebhook } from "./signature.ts";

/** How far a request's timestamp may be from now, either way (the reference libraries' value). */
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

export type WebhookVerificationFailure =
  | "missing-headers"
  | "invalid-id"
  | "invalid-timestamp"
  | "timestamp-too-old"
  | "timestamp-too-new"
  | "invalid-body"
  | "no-matching-signature";

export type WebhookVerification =
  | { readonly ok: true; readonly id: string; readonly timestamp: number }
  | { readonly ok: false; readonly reason: WebhookVerificationFailure; readonly message: string };

/** Request headers as node:http gives them (IncomingHttpHeaders) or as a plain record; names in any case. */
export type IncomingWebhookHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

const ID = /^[\x21-\x7e]+$/;
const TIMESTAMP = /^\d{1,15}$/;
const SIGNATURE_VERSION = "v1,";
// Keeps a byte-order mark in the text: the sender signed the body's characters, a BOM included.
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Throws (as signWebhook does) when `secret` is not a usable "whsec_…" endpoint secret. */
export function assertWebhookSecret(secret: string): void {
  signWebhook({ id: "check", timestamp: 0, body: "" }, [secret]);
}

function header(headers: IncomingWebhookHeaders, name: string): string | undefined {
  let value = headers[name];
  if (value === undefined) {
    const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
    value = key === undefined ? undefined : headers[key];
  }
  // A repeated header is ambiguous: which id or timestamp was signed?
  if (typeof value !== "string") return value?.length === 1 ? value[0] : undefined;
  return value;
}

function refuse(reason: WebhookVerificationFailure, message: string): WebhookVerification {
  return { ok: false, reason, message };
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a, "utf8");
  const right = Buffer.from(b, "utf8");
  // Every v1 signature is 44 characters, so the length gives nothing away.
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Checks a webhook request against the endpoint `secret` ("whsec_…"): the three headers are
 * present, the timestamp is within WEBHOOK_TOLERANCE_SECONDS of `now`, and one of the `v1,`
 * signatures is the HMAC of `${id}.${timestamp}.${body}`. `body` must be the exact bytes received
 * (before any JSON parsing). Throws only on a malformed secret.
 */
export function verifyWebhook(secret: string, headers: IncomingWebhookHeaders, body: string | Uint8Array, now: Date = new Date()): WebhookVerification {
  assertWebhookSecret(secret);
  const id = header(headers, "webhook-id");
  const timestampHeader = header(headers, "webhook-timestamp");
  const signatures = header(headers, "webhook-signature");
  if (!id || !timestampHeader || !signatures) {
    const missing = ["webhook-id", "webhook-timestamp", "webhook-signature"].filter((name) => !header(headers, name));
    return refuse("missing-headers", `missing or repeated ${missing.join(", ")}`);
  }
  if (!ID.test(id)) return refuse("invalid-id", "webhook-id is not printable ASCII without spaces");
  if (!TIMESTAMP.test(timestampHeader)) return refuse("invalid-timestamp", "webhook-timestamp is not whole seconds since the epoch");

  const timestamp = Number(timestampHeader);
  const skew = Math.floor(now.getTime() / 1000) - timestamp;
  if (skew > WEBHOOK_TOLERANCE_SECONDS) return refuse("timestamp-too-old", `timestamp too old (${skew} s ago)`);
  if (-skew > WEBHOOK_TOLERANCE_SECONDS) return refuse("timestamp-too-new", `timestamp too new (${-skew} s ahead)`);

  let text: string;
  try {
    text = typeof body === "string" ? body : UTF8.decode(body);
  } catch {
    return refuse("invalid-body", "body is not UTF-8");
  }
  const expected = signWebhook({ id, timestamp, body: text }, [secret]).slice(SIGNATURE_VERSION.length);
  // Check every candidate (no early exit), so the time taken does not tell which one matched.
  let matched = false;
  for (const candidate of signatures.split(" ")) {
    if (candidate.startsWith(SIGNATURE_VERSION) && sameText(candidate.slice(SIGNATURE_VERSION.length), expected)) matched = true;
  }
  if (!matched) return refuse("no-matching-signature", "no matching signature");
  return { ok: true, id, timestamp };
}
