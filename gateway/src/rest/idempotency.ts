/**
 * Idempotency-Key for POST: the first request with a key claims it, runs, and stores its response
 * for 24 h; a retry with the same key and the same request gets that response replayed; the same
 * key with a different request is refused (422); a retry while the first is still running gets
 * 409. One small store interface, a Redis store shared by every gateway instance, and an
 * in-process store for the embedded default without Redis; over either, `createIdempotency` is
 * the REST stage that claims a request's key and then completes or releases it.
 */
import { createHash } from "node:crypto";
import type { RedisClient } from "../../../platform/redis.ts";
import type { Logger } from "../../../platform/logger.ts";
import { problem } from "./problem.ts";
import { refused, type Refused, type Reply } from "./stages/stage.ts";

/** A response as it is replayed. */
export interface StoredResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export type Claim =
  | { readonly outcome: "claimed" }
  | { readonly outcome: "replay"; readonly response: StoredResponse }
  | { readonly outcome: "in-flight" }
  | { readonly outcome: "mismatch" };

export interface IdempotencyStore {
  /** Claims `key` for the request with this fingerprint, or says why it cannot. */
  claim(key: string, fingerprint: string): Promise<Claim>;
  /** Stores the response of a claimed key (for the retention period). */
  complete(key: string, fingerprint: string, response: StoredResponse): Promise<void>;
  /** Gives a claimed key up (the request failed on our side): a retry may run again. */
  release(key: string): Promise<void>;
}

export interface IdempotencyTimings {
  /** How long a stored response is replayed. @default 24 h */
  readonly retentionMs?: number;
  /** How long a claim without a response holds (a crashed instance must not block a key for 24 h). @default 60 s */
  readonly claimMs?: number;
}

const DAY_MS = 86_400_000;
const CLAIM_MS = 60_000;

type Entry = { readonly fingerprint: string; readonly response?: StoredResponse };

/** What makes two requests "the same": method, path and the body's JSON value (key order ignored). */
export function requestFingerprint(method: string, path: string, body: unknown): string {
  return createHash("sha256")
    .update(`${method} ${path}\n${canonicalJson(body)}`)
    .digest("base64url");
}

// Recursive: bodies get here validated (free-form JSON values at most 32 deep, the rest shaped by
// the route's schema), so a body nested thousands deep is a 422 before it is fingerprinted.
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${canonicalJson(entry)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

function judge(existing: Entry, fingerprint: string): Claim {
  if (existing.fingerprint !== fingerprint) return { outcome: "mismatch" };
  return existing.response ? { outcome: "replay", response: existing.response } : { outcome: "in-flight" };
}

// Claim atomically: SET NX, or return what is there. One round trip, no window between the two.
const CLAIM_SCRIPT = `
local ok = redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX')
if ok then return false end
return redis.call('GET', KEYS[1])
`;

export function createRedisIdempotencyStore(redis: RedisClient, keyPrefix: string, timings: IdempotencyTimings = {}): IdempotencyStore {
  const retentionMs = timings.retentionMs ?? DAY_MS;
  const claimMs = timings.claimMs ?? CLAIM_MS;
  const keyOf = (key: string) => `${keyPrefix}${key}`;
  return {
    async claim(key, fingerprint) {
      const existing = (await redis.eval(CLAIM_SCRIPT, 1, keyOf(key), JSON.stringify({ fingerprint }), String(claimMs))) as string | null;
      // The key expired between SET and GET inside the script cannot happen (scripts are atomic).
      if (existing === null) return { outcome: "claimed" };
      return judge(JSON.parse(existing) as Entry, fingerprint);
    },
    async complete(key, fingerprint, response) {
      await redis.set(keyOf(key), JSON.stringify({ fingerprint, response } satisfies Entry), "PX", retentionMs);
    },
    async release(key) {
      await redis.del(keyOf(key));
    },
  };
}

/** The embedded default's store: the same behaviour, in this process only. */
export function createMemoryIdempotencyStore(timings: IdempotencyTimings = {}): IdempotencyStore {
  const retentionMs = timings.retentionMs ?? DAY_MS;
  const claimMs = timings.claimMs ?? CLAIM_MS;
  const entries = new Map<string, { record: Entry; expiresAt: number }>();
  let nextSweep = 0;
  const live = (key: string, now: number) => {
    // Sweep at most once a minute: expiry must not cost a scan per request.
    if (now >= nextSweep) {
      nextSweep = now + 60_000;
      for (const [entryKey, entry] of entries) if (entry.expiresAt <= now) entries.delete(entryKey);
    }
    const entry = entries.get(key);
    return entry && entry.expiresAt > now ? entry.record : undefined;
  };
  return {
    async claim(key, fingerprint) {
      const now = Date.now();
      const existing = live(key, now);
      if (existing) return judge(existing, fingerprint);
      entries.set(key, { record: { fingerprint }, expiresAt: now + claimMs });
      return { outcome: "claimed" };
    },
    async complete(key, fingerprint, response) {
      entries.set(key, { record: { fingerprint, response }, expiresAt: Date.now() + retentionMs });
    },
    async release(key) {
      entries.delete(key);
    },
  };
}

/** Keys are scoped per caller: one partner's key never replays another's response. */
export function idempotencyScope(principal: string, key: string): string {
  return `${principal}:${createHash("sha256").update(key).digest("base64url")}`;
}

/** Printable ASCII, 1 to 255 characters (UUIDs and ULIDs fit; header injection does not). */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export interface IdempotencyOptions {
  /** Keys are kept here, shared by every gateway instance; in this process without it. */
  readonly redis?: RedisClient;
  /** Prefix of the keys in Redis. @default "idempotency:" */
  readonly keyPrefix?: string;
  readonly timings?: IdempotencyTimings;
  /** Store failures are logged with the request's correlation id. */
  readonly logger: Logger;
}

/** What of a request its Idempotency-Key is about. */
export interface IdempotentRequest {
  readonly method: string | undefined;
  /** The Idempotency-Key header, if sent. */
  readonly key: string | undefined;
  /** Whose key it is: keys are scoped per caller. */
  readonly principal: string;
  /** Version and route path (`v1/boards`): with the method and the body, what makes two requests the same. */
  readonly path: string;
  /** The validated body. */
  readonly body: unknown;
  readonly correlationId: string;
}

/**
 * A request allowed to run, its key claimed (or without a key: then these do nothing). Exactly
 * one of them ends the claim; none rejects.
 */
export interface KeyClaim {
  /** The request was answered: its reply is stored for replay. Not storable, it is still answered (a retry then gets 409 until the claim expires). */
  complete(reply: Reply): Promise<void>;
  /** The request was refused: a refusal of the request (< 500) is its answer and is stored as such; our own failure releases the key. */
  refuse(reply: Reply): Promise<void>;
  /** The request failed on our side: a retry may run again. */
  release(): Promise<void>;
}

export type Claiming =
  | { readonly ok: true; readonly outcome: "run"; readonly claim: KeyClaim }
  /** The stored reply of an earlier request with this key, marked `Idempotent-Replayed`. */
  | { readonly ok: true; readonly outcome: "replay"; readonly reply: Reply }
  | Refused;

export interface Idempotency {
  /** Claims a POST's Idempotency-Key; other requests, and POSTs without one, run unclaimed. */
  claim(request: IdempotentRequest): Promise<Claiming>;
}

const UNCLAIMED: KeyClaim = {
  complete: async () => undefined,
  refuse: async () => undefined,
  release: async () => undefined,
};

function stored(reply: Reply): StoredResponse {
  return { status: reply.status, headers: reply.headers, body: reply.body ?? "" };
}

/** Stage 5 of a REST request (see rest-api.ts), over the Redis store when given one, else the in-process one. */
export function createIdempotency(options: IdempotencyOptions): Idempotency {
  const store = options.redis
    ? createRedisIdempotencyStore(options.redis, options.keyPrefix ?? "idempotency:", options.timings)
    : createMemoryIdempotencyStore(options.timings);
  const { logger } = options;
  return {
    async claim(request) {
      const { key, correlationId } = request;
      if (request.method !== "POST" || key === undefined) return { ok: true, outcome: "run", claim: UNCLAIMED };
      if (!IDEMPOTENCY_KEY.test(key)) return refused(problem("BAD_REQUEST", "Idempotency-Key must be 1 to 255 printable ASCII characters"));
      const scoped = idempotencyScope(request.principal, key);
      const fingerprint = requestFingerprint(request.method, request.path, request.body);
      let claim: Claim;
      try {
        claim = await store.claim(scoped, fingerprint);
      } catch (error) {
        // Without the store a retry could run twice: refuse (retryable) rather than fail open.
        logger.error({ err: error, correlationId }, "idempotency store unavailable");
        return refused(problem("IDEMPOTENCY_UNAVAILABLE", "Idempotency-Key cannot be honoured right now; retry shortly", { retryAfterSeconds: 1 }));
      }
      switch (claim.outcome) {
        case "mismatch":
          return refused(problem("IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was used for a different request"));
        case "in-flight":
          return refused(
            problem("IDEMPOTENCY_IN_FLIGHT", "The first request with this Idempotency-Key is still running; retry shortly", { retryAfterSeconds: 1 }),
          );
        case "replay":
          return { ok: true, outcome: "replay", reply: { ...claim.response, headers: { ...claim.response.headers, "idempotent-replayed": "true" } } };
        case "claimed":
          break;
      }
      const release = () => store.release(scoped).catch(() => undefined);
      return {
        ok: true,
        outcome: "run",
        claim: {
          complete: (reply) =>
            store
              .complete(scoped, fingerprint, stored(reply))
              .catch((error: unknown) => logger.error({ err: error, correlationId }, "idempotent response not stored")),
          refuse: (reply) => (reply.status < 500 ? store.complete(scoped, fingerprint, stored(reply)).catch(() => undefined) : release()),
          release,
        },
      };
    },
  };
}
