import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { PrefixingKeyValueCache } from "@apollo/utils.keyvaluecache";
import { Redis } from "ioredis";
import { TEST_REDIS_URL, preflight } from "./support/preflight.ts";
import { createRedisKeyValueCache } from "../gateway/src/limits/redis-cache.ts";

describe("the APQ cache in Redis", () => {
  const prefix = `test:${randomUUID()}:apq:`;
  let redis: Redis;
  let otherInstance: Redis;

  before(async () => {
    await preflight("redis");
    redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    otherInstance = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    await Promise.all([redis.connect(), otherInstance.connect()]);
  });

  after(async () => {
    if (redis?.status === "ready") {
      const keys: string[] = [];
      for await (const batch of redis.scanStream({ match: `${prefix}*`, count: 1000 }) as AsyncIterable<string[]>) keys.push(...batch);
      if (keys.length > 0) await redis.del(...keys);
    }
    redis?.disconnect();
    otherInstance?.disconnect();
  });

  it("stores under the prefix and reads back what another gateway instance wrote", async () => {
    const cache = createRedisKeyValueCache(redis, prefix);
    await cache.set("hash-1", "{ me { id } }");
    assert.equal(await redis.get(`${prefix}hash-1`), "{ me { id } }");
    assert.equal(await createRedisKeyValueCache(otherInstance, prefix).get("hash-1"), "{ me { id } }");
  });

  it("answers undefined for a key never set", async () => {
    assert.equal(await createRedisKeyValueCache(redis, prefix).get("never-set"), undefined);
  });

  it("expires entries after ttl seconds and keeps entries without ttl", async () => {
    const cache = createRedisKeyValueCache(redis, prefix);
    const setAt = performance.now();
    await cache.set("short", "q", { ttl: 0.5 });
    await cache.set("day", "q", { ttl: 86_400 });
    await cache.set("forever", "q");
    await cache.set("forever-null", "q", { ttl: null });
    const dayTtl = await redis.pttl(`${prefix}day`);
    assert.ok(dayTtl > 86_390_000 && dayTtl <= 86_400_000, String(dayTtl));
    assert.equal(await redis.pttl(`${prefix}forever`), -1);
    assert.equal(await redis.pttl(`${prefix}forever-null`), -1);
    // Still there while its ttl runs (asked only while well inside it: a busy machine may be slower).
    const early = await cache.get("short");
    if (performance.now() - setAt < 400) assert.equal(early, "q");
    // Expiry is Redis's own clock: ask again until the entry is gone, within a deadline.
    let short: string | undefined = "q";
    while (short !== undefined && performance.now() - setAt < 5_000) short = await cache.get("short");
    assert.equal(short, undefined);
    assert.ok(performance.now() - setAt >= 495, "not before its ttl (500 ms)");
  });

  it("deletes, answering whether there was an entry", async () => {
    const cache = createRedisKeyValueCache(redis, prefix);
    await cache.set("doomed", "q");
    assert.equal(await cache.delete("doomed"), true);
    assert.equal(await cache.delete("doomed"), false);
    assert.equal(await cache.get("doomed"), undefined);
  });

  it("is not prefixed a second time by the PrefixingKeyValueCache Apollo wraps the APQ cache in", async () => {
    const asApolloUsesIt = new PrefixingKeyValueCache(createRedisKeyValueCache(redis, prefix), "apq:");
    await asApolloUsesIt.set("abc123", "{ me { name } }");
    assert.equal(await redis.get(`${prefix}abc123`), "{ me { name } }");
    assert.equal(await redis.exists(`${prefix}apq:abc123`), 0);
  });

  it("uses apq: as its default prefix", async () => {
    const key = `${prefix}default-prefix`;
    const cache = createRedisKeyValueCache(redis);
    try {
      await cache.set(key, "q");
      assert.equal(await redis.get(`apq:${key}`), "q");
    } finally {
      await cache.delete(key);
    }
  });
});

describe("the APQ cache without Redis", () => {
  it("answers reads as misses and reports them, so clients resend the full query instead of failing", async () => {
    const unreachable = new Redis({ host: "127.0.0.1", port: 1, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    const errors: unknown[] = [];
    const cache = createRedisKeyValueCache(unreachable, "apq:", { onError: (error) => errors.push(error) });
    try {
      assert.equal(await cache.get("hash"), undefined);
      assert.equal(errors.length, 1);
      await assert.rejects(cache.set("hash", "q"));
    } finally {
      unreachable.disconnect();
    }
  });
});
