import type { RedisClient } from "../../../platform/redis.ts";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, RLWrapperTimeouts } from "rate-limiter-flexible";

export interface RateLimitDecision {
  allowed: boolean;
  /** The binding window's allowance: the window with the fewest requests left (the refusing one when refused). */
  limit: number;
  remaining: number;
  /** Seconds until the binding window starts afresh. */
  resetSeconds: number;
  /** Only when refused; at least 1. */
  retryAfterSeconds?: number;
  /**
   * Redis could not be asked (down, not yet connected, or slower than `timeoutMs`): the request is let
   * through unmetered and `onError` has been called. The figures above are then placeholders.
   */
  degraded?: true;
}

export interface RateLimiterOptions {
  /** Shared counters for every gateway instance; without it (the embedded default) counters live in this process. */
  redis?: RedisClient;
  /** @default 100 */
  perMinute?: number;
  /** @default 1000 */
  perHour?: number;
  /** Keys are `<keyPrefix>minute:<principal>` and `<keyPrefix>hour:<principal>`. @default "ratelimit:" */
  keyPrefix?: string;
  /** Longest wait for one Redis call before failing open. @default 200 */
  timeoutMs?: number;
  /** Called with the Redis error each time a request is let through unmetered: count it, log it. */
  onError?: (error: unknown) => void;
}

export interface RateLimiter {
  consume(principal: string): Promise<RateLimitDecision>;
  /** Forgets the principal's usage in both windows (support tooling, tests). Redis errors propagate. */
  reset(principal: string): Promise<void>;
}

export const DEFAULT_RATE_LIMITS = Object.freeze({ perMinute: 100, perHour: 1000, keyPrefix: "ratelimit:", timeoutMs: 200 });

interface Window {
  readonly points: number;
  readonly store: RateLimiterRedis | RateLimiterMemory;
  readonly bounded: RLWrapperTimeouts;
}

/**
 * Two fixed windows per principal, a minute and an hour, counted in Redis so every gateway instance
 * shares them. A request is counted in the hour only once the minute has admitted it: a client
 * retrying in a loop against its minute limit does not also burn its hour.
 *
 * Redis down fails OPEN: a blip in a cache must not turn into an outage of the whole product, and
 * rate limiting is abuse protection, not an authorization check. The request is admitted with
 * `degraded: true` and `onError` is called, so the outage is visible in logs/metrics. The client
 * should be connected before traffic is served (`rejectIfRedisNotReady`: requests arriving while it
 * is not ready fail open at once instead of queueing behind the reconnection).
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const perMinute = positiveInteger("perMinute", options.perMinute ?? DEFAULT_RATE_LIMITS.perMinute);
  const perHour = positiveInteger("perHour", options.perHour ?? DEFAULT_RATE_LIMITS.perHour);
  const keyPrefix = options.keyPrefix ?? DEFAULT_RATE_LIMITS.keyPrefix;
  const timeoutMs = positiveInteger("timeoutMs", options.timeoutMs ?? DEFAULT_RATE_LIMITS.timeoutMs);

  const window = (name: string, points: number, duration: number): Window => {
    // rate-limiter-flexible appends ":" and the key.
    const store = options.redis
      ? new RateLimiterRedis({ storeClient: options.redis, keyPrefix: `${keyPrefix}${name}`, points, duration, rejectIfRedisNotReady: true })
      : new RateLimiterMemory({ keyPrefix: `${keyPrefix}${name}`, points, duration });
    return { points, store, bounded: new RLWrapperTimeouts({ limiter: store, timeoutMs, keyPrefix: store.keyPrefix }) };
  };
  const minute = window("minute", perMinute, 60);
  const hour = window("hour", perHour, 3600);

  return {
    async consume(principal) {
      try {
        // Both windows in one round trip; a request the minute refuses is then given back to the
        // hour (the rare path pays the second call), so it is not charged there.
        const [inMinute, inHour] = await Promise.all([take(minute, principal), take(hour, principal)]);
        if (!inMinute.allowed) {
          if (inHour.allowed) await hour.bounded.reward(principal, 1);
          return inMinute;
        }
        if (!inHour.allowed) return inHour;
        return tighter(inMinute, inHour);
      } catch (error) {
        options.onError?.(error);
        return { allowed: true, limit: perMinute, remaining: perMinute, resetSeconds: 0, degraded: true };
      }
    },
    async reset(principal) {
      await Promise.all([minute.store.delete(principal), hour.store.delete(principal)]);
    },
  };
}

/** Consumes one point; resolves the window's decision, rejects only on a Redis failure. */
async function take(window: Window, principal: string): Promise<RateLimitDecision> {
  try {
    const result = await window.bounded.consume(principal);
    return { allowed: true, limit: window.points, remaining: result.remainingPoints, resetSeconds: secondsUntil(result) };
  } catch (rejection) {
    // The library rejects with a RateLimiterRes for "over the limit" and with an Error for a store failure.
    if (!(rejection instanceof RateLimiterRes)) throw rejection;
    const resetSeconds = Math.max(1, secondsUntil(rejection));
    return { allowed: false, limit: window.points, remaining: 0, resetSeconds, retryAfterSeconds: resetSeconds };
  }
}

/** Fewest remaining; on a tie the later reset, since that is how long the client must actually pace itself. */
function tighter(a: RateLimitDecision, b: RateLimitDecision): RateLimitDecision {
  if (a.remaining !== b.remaining) return a.remaining < b.remaining ? a : b;
  return a.resetSeconds >= b.resetSeconds ? a : b;
}

function secondsUntil(result: RateLimiterRes): number {
  return Math.max(0, Math.ceil(result.msBeforeNext / 1000));
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

/**
 * The conventional header names; Reset is in seconds from now (as in the IETF RateLimit header draft)
 * rather than an epoch, so clients need no synchronised clock. None for a degraded decision: there is
 * nothing true to say.
 */
export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  if (decision.degraded) return {};
  const headers: Record<string, string> = {
    "X-RateLimit-Limit": String(decision.limit),
    "X-RateLimit-Remaining": String(decision.remaining),
    "X-RateLimit-Reset": String(decision.resetSeconds),
  };
  if (!decision.allowed) headers["Retry-After"] = String(decision.retryAfterSeconds ?? Math.max(1, decision.resetSeconds));
  return headers;
}
