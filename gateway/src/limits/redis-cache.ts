import type { RedisClient } from "../../../platform/redis.ts";
import { ErrorsAreMissesCache, PrefixingKeyValueCache, type KeyValueCache, type KeyValueCacheSetOptions } from "@apollo/utils.keyvaluecache";

export interface RedisKeyValueCacheOptions {
  /** Called when a read fails and is answered as a miss, with what ErrorsAreMissesCache reports: the error's message. */
  onError?: (error: unknown) => void;
}

class RedisKeyValueCache implements KeyValueCache<string> {
  private readonly redis: RedisClient;
  private readonly prefix: string;

  constructor(redis: RedisClient, prefix: string) {
    this.redis = redis;
    this.prefix = prefix;
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.redis.get(this.prefix + key)) ?? undefined;
  }

  /** `ttl` in seconds, fractions kept; absent, null or 0 means no expiry, as in Apollo's in-memory cache. */
  async set(key: string, value: string, options?: KeyValueCacheSetOptions): Promise<void> {
    const ttl = options?.ttl;
    if (typeof ttl === "number" && ttl > 0) await this.redis.set(this.prefix + key, value, "PX", Math.max(1, Math.round(ttl * 1000)));
    else await this.redis.set(this.prefix + key, value);
  }

  async delete(key: string): Promise<boolean> {
    return (await this.redis.del(this.prefix + key)) > 0;
  }
}

/**
 * A KeyValueCache in Redis, meant for Automatic Persisted Queries so that a hash registered through
 * one gateway instance is known to all (`persistedQueries: { cache, ttl }` of ApolloServer).
 *
 * - Reads that fail are misses (`ErrorsAreMissesCache`): for APQ a miss only costs the client a
 *   resend of the full query, whereas an error would fail the request. Writes still reject; Apollo
 *   logs failed APQ writes and carries on.
 * - The cache carries its own prefix and is marked as needing no other: Apollo otherwise wraps the
 *   APQ cache in a PrefixingKeyValueCache("apq:") and the keys would read `apq:apq:<sha256>`.
 * - Apollo passes no ttl unless `persistedQueries.ttl` is set, and keys without ttl never expire:
 *   set one (e.g. a day) so registered queries cannot grow Redis without bound.
 */
export function createRedisKeyValueCache(redis: RedisClient, prefix = "apq:", options: RedisKeyValueCacheOptions = {}): KeyValueCache<string> {
  const reportingLogger = {
    debug() {},
    info() {},
    warn() {},
    error(error: unknown) {
      options.onError?.(error);
    },
  };
  return PrefixingKeyValueCache.cacheDangerouslyDoesNotNeedPrefixesForIsolation(
    new ErrorsAreMissesCache(new RedisKeyValueCache(redis, prefix), reportingLogger),
  );
}
