import type { RedisClient } from "./redis.ts";
import type { Logger } from "./logger.ts";
import { MAX_SIGNATURE_AGE_MS, NonceRegistry, type NonceStore } from "./identity.ts";

export interface RedisNonceOptions {
  /** Namespace of the keys (`<prefix>nonce:<nonce>`). @default "" */
  readonly keyPrefix?: string;
  /** Longest wait for Redis before this process's own memory decides alone. @default 200 */
  readonly timeoutMs?: number;
  /** Called with the Redis error each time Redis could not be asked. @default a warning on `logger` */
  readonly onError?: (error: unknown) => void;
  readonly logger?: Pick<Logger, "warn">;
}

/**
 * Nonces of accepted signed requests in Redis (`SET NX` with the signatures' lifetime), so that any
 * number of replicas refuse a request one of them has served: a captured request replayed to
 * another replica is refused like one replayed to the same.
 *
 * This process's own registry is asked first (a replay it saw costs no round trip) and remembers
 * everything it accepted. When Redis is not connected or does not answer within `timeoutMs`, that
 * registry decides alone and `onError` is told: a replica keeps refusing its own replays, and only
 * a replay sent to another replica during the outage, within a minute of its capture, could pass.
 * Refusing every internal request while Redis is away would stop the product for a cache's blip.
 */
export function redisNonceStore(redis: RedisClient, options: RedisNonceOptions = {}): NonceStore {
  const local = new NonceRegistry();
  const prefix = options.keyPrefix ?? "";
  const timeoutMs = options.timeoutMs ?? 200;
  const onError =
    options.onError ?? ((error: unknown) => options.logger?.warn({ err: error }, "nonce registry in Redis unavailable; this process's memory decides alone"));
  return {
    async claim(nonce, now = Date.now()) {
      if (!local.claim(nonce, now)) return false;
      // Not connected (starting, or Redis away): no request waits for a reconnect.
      if (redis.status !== "ready") {
        onError(new Error(`Redis connection is not ready (${redis.status})`));
        return true;
      }
      let timer: NodeJS.Timeout | undefined;
      try {
        const answer = await Promise.race([
          redis.set(`${prefix}nonce:${nonce}`, "1", "PX", MAX_SIGNATURE_AGE_MS * 2, "NX"),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return answer === "OK";
      } catch (error) {
        onError(error);
        return true;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
