// Slack request signatures (https://api.slack.com/authentication/verifying-requests-from-slack):
//
//   X-Slack-Signature = "v0=" + hex HMAC-SHA256(signing secret, "v0:{X-Slack-Request-Timestamp}:{raw body}")
//
// The HMAC covers the exact bytes Slack sent, so callers must verify before parsing (a re-encoded
// body never matches). The timestamp bounds replays: a request more than `toleranceSeconds` away
// from our clock, in either direction, is refused even with a valid signature.
import { createHmac, timingSafeEqual } from "node:crypto";

/** Slack's own recommendation: five minutes. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

const VERSION = "v0";
const TIMESTAMP = /^\d{1,15}$/;
const SIGNATURE = /^v0=[0-9a-f]{64}$/;

function hmac(signingSecret: string, timestamp: string, rawBody: string | Uint8Array): string {
  const mac = createHmac("sha256", signingSecret);
  mac.update(`${VERSION}:${timestamp}:`, "utf8");
  if (typeof rawBody === "string") mac.update(rawBody, "utf8");
  else mac.update(rawBody);
  return `${VERSION}=${mac.digest("hex")}`;
}

/** The X-Slack-Signature value Slack would send for this body at this time (unix seconds). */
export function signSlackRequest(signingSecret: string, timestamp: number, rawBody: string | Uint8Array): string {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new TypeError("Slack timestamp must be a non-negative integer of seconds");
  return hmac(signingSecret, String(timestamp), rawBody);
}

export interface SlackVerifyInput {
  readonly signingSecret: string;
  /** X-Slack-Request-Timestamp, as received. */
  readonly timestamp: string | undefined;
  /** X-Slack-Signature, as received. */
  readonly signature: string | undefined;
  /** The request body, byte for byte. */
  readonly rawBody: Uint8Array;
  /** Our clock, in ms (tests pin it). Default Date.now(). */
  readonly now?: number;
  readonly toleranceSeconds?: number;
}

export type SlackVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Whether the request is Slack's: fresh timestamp and matching signature. Never throws. */
export function verifySlackRequest(input: SlackVerifyInput): SlackVerdict {
  const { signingSecret, timestamp, signature, rawBody } = input;
  if (!signingSecret) return { ok: false, reason: "no signing secret configured" };
  if (timestamp === undefined || timestamp === "") return { ok: false, reason: "missing X-Slack-Request-Timestamp" };
  if (signature === undefined || signature === "") return { ok: false, reason: "missing X-Slack-Signature" };
  if (!TIMESTAMP.test(timestamp)) return { ok: false, reason: "malformed timestamp" };
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const nowSeconds = Math.floor((input.now ?? Date.now()) / 1000);
  const skew = nowSeconds - Number(timestamp);
  if (skew > tolerance) return { ok: false, reason: "stale timestamp" };
  if (-skew > tolerance) return { ok: false, reason: "timestamp in the future" };
  // Shape first: timingSafeEqual needs equal lengths, and the expected length is public anyway.
  if (!SIGNATURE.test(signature)) return { ok: false, reason: "malformed signature" };
  const expected = Buffer.from(hmac(signingSecret, timestamp, rawBody), "utf8");
  const received = Buffer.from(signature, "utf8");
  if (expected.length !== received.length || !timingSafeEqual(expected, received)) return { ok: false, reason: "signature mismatch" };
  return { ok: true };
}
