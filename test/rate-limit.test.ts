import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { freePort } from "./support/free-port.ts";
import { Redis } from "ioredis";
import { TEST_REDIS_URL, preflight } from "./support/preflight.ts";
import { createRateLimiter, rateLimitHeaders, type RateLimitDecision } from "../gateway/src/limits/rate-limit.ts";

async function consumeTimes(limiter: { consume(principal: string): Promise<RateLimitDecision> }, principal: string, times: number) {
  const decisions: RateLimitDecision[] = [];
  for (let index = 0; index < times; index += 1) decisions.push(await limiter.consume(principal));
  return decisions;
}

/** A port nobody listens on. */
const closedPort = freePort;

describe("rate limits in Redis", () => {
  const prefix = `test:${randomUUID()}:ratelimit:`;
  let redis: Redis;

  before(async () => {
    await preflight("redis");
    redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    await redis.connect();
  });

  after(async () => {
    if (redis?.status !== "ready") return;
    const keys: string[] = [];
    for await (const batch of redis.scanStream({ match: `${prefix}*`, count: 1000 }) as AsyncIterable<string[]>) keys.push(...batch);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it("counts down remaining in the tighter window and reports it in the headers", async () => {
    const limiter = createRateLimiter({ redis, keyPrefix: prefix });
    const [first, second] = await consumeTimes(limiter, "countdown", 2);
    assert.deepEqual(first, { allowed: true, limit: 100, remaining: 99, resetSeconds: 60 });
    assert.equal(second?.remaining, 98);
    assert.deepEqual(rateLimitHeaders(second!), { "X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "98", "X-RateLimit-Reset": "60" });
  });

  it("keeps the two windows under <prefix>minute:<principal> and <prefix>hour:<principal>", async () => {
    const limiter = createRateLimiter({ redis, keyPrefix: prefix });
    await limiter.consume("layout");
    assert.equal(await redis.get(`${prefix}minute:layout`), "1");
    assert.equal(await redis.get(`${prefix}hour:layout`), "1");
    const [minuteTtl, hourTtl] = await Promise.all([redis.pttl(`${prefix}minute:layout`), redis.pttl(`${prefix}hour:layout`)]);
    assert.ok(minuteTtl > 55_000 && minuteTtl <= 60_000, String(minuteTtl));
    assert.ok(hourTtl > 3_595_000 && hourTtl <= 3_600_000, String(hourTtl));
  });

  it("refuses the 101st request in a minute with a Retry-After of at most a minute", async () => {
    const limiter = createRateLimiter({ redis, keyPrefix: prefix });
    const decisions = await consumeTimes(limiter, "hundred", 101);
    assert.ok(decisions.slice(0, 100).every((decision) => decision.allowed));
    assert.equal(decisions[99]?.remaining, 0);
    // Remaining counts down by one per request, against the configured limit, within one minute window.
    assert.deepEqual(
      decisions.slice(0, 100).map((decision) => [decision.limit, decision.remaining]),
      Array.from({ length: 100 }, (_, index) => [100, 99 - index]),
    );
    for (const decision of decisions.slice(0, 100)) assert.ok(decision.resetSeconds >= 1 && decision.resetSeconds <= 60, `reset ${decision.resetSeconds}`);
    const refused = decisions[100]!;
    assert.equal(refused.allowed, false);
    assert.equal(refused.limit, 100);
    assert.equal(refused.remaining, 0);
    assert.ok(refused.retryAfterSeconds !== undefined && refused.retryAfterSeconds >= 1 && refused.retryAfterSeconds <= 60);
    assert.equal(refused.resetSeconds, refused.retryAfterSeconds, "retry when the window resets");
    assert.deepEqual(rateLimitHeaders(refused), {
      "X-RateLimit-Limit": "100",
      "X-RateLimit-Remaining": "0",
      "X-RateLimit-Reset": String(refused.resetSeconds),
      "Retry-After": String(refused.retryAfterSeconds),
    });
  });

  it("reports the hour window once it is the tighter one, and refuses for up to an hour when it is spent", async () => {
    const limiter = createRateLimiter({ redis, keyPrefix: prefix, perMinute: 5, perHour: 7 });
    const firstMinute = await consumeTimes(limiter, "hourly", 6);
    assert.deepEqual(
      firstMinute.map((decision) => [decision.allowed, decision.limit, decision.remaining]),
      [
        [true, 5, 4],
        [true, 5, 3],
        [true, 5, 2],
        [true, 5, 1],
        [true, 5, 0],
        [false, 5, 0],
      ],
    );
    assert.equal(await redis.get(`${prefix}hour:hourly`), "5", "a request the minute refused is not charged to the hour");

    await redis.del(`${prefix}minute:hourly`); // the next minute begins
    const [sixth, seventh, eighth] = await consumeTimes(limiter, "hourly", 3);
    assert.deepEqual([sixth?.allowed, sixth?.limit, sixth?.remaining], [true, 7, 1]);
    assert.ok(sixth!.resetSeconds > 3500, `hour reset, got ${sixth?.resetSeconds}`);
    assert.ok(sixth!.resetSeconds <= 3600, `hour reset, got ${sixth?.resetSeconds}`);
    assert.deepEqual([seventh?.allowed, seventh?.limit, seventh?.remaining], [true, 7, 0]);
    assert.equal(eighth?.allowed, false);
    assert.equal(eighth?.limit, 7);
    assert.ok(eighth!.retryAfterSeconds! > 3500, `retry after the hour, got ${eighth?.retryAfterSeconds}`);
    assert.ok(eighth!.retryAfterSeconds! <= 3600, `retry after the hour, got ${eighth?.retryAfterSeconds}`);
    assert.equal(eighth?.remaining, 0);
    assert.equal(eighth?.resetSeconds, eighth?.retryAfterSeconds);
  });

  it("reset restores a refused principal's full allowance", async () => {
    const limiter = createRateLimiter({ redis, keyPrefix: prefix, perMinute: 5, perHour: 7 });
    const decisions = await consumeTimes(limiter, "resettable", 6);
    assert.equal(decisions[5]?.allowed, false);
    await limiter.reset("resettable");
    assert.deepEqual(await limiter.consume("resettable"), { allowed: true, limit: 5, remaining: 4, resetSeconds: 60 });
  });

  it("counts each principal on its own", async () => {
    const limiter = createRateLimiter({ redis, keyPrefix: prefix, perMinute: 5, perHour: 7 });
    const alice = await consumeTimes(limiter, "alice", 6);
    assert.equal(alice[5]?.allowed, false);
    assert.deepEqual(await limiter.consume("bob"), { allowed: true, limit: 5, remaining: 4, resetSeconds: 60 });
  });

  it("refuses options that are not positive integers", () => {
    assert.throws(() => createRateLimiter({ redis, perMinute: 0 }), RangeError);
    assert.throws(() => createRateLimiter({ redis, perHour: 1.5 }), RangeError);
  });
});

describe("rate limits without Redis", () => {
  it("fail open with degraded: true, report the error and send no rate-limit headers when Redis is unreachable", { timeout: 5000 }, async () => {
    const unreachable = new Redis({
      host: "127.0.0.1",
      port: await closedPort(),
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
    });
    const errors: unknown[] = [];
    const limiter = createRateLimiter({ redis: unreachable, perMinute: 1, onError: (error) => errors.push(error) });
    try {
      const decisions = await consumeTimes(limiter, "anyone", 3);
      assert.ok(decisions.every((decision) => decision.allowed && decision.degraded === true));
      // Placeholders, not measurements: the full allowance and no reset (the headers say nothing).
      for (const decision of decisions) assert.deepEqual(decision, { allowed: true, limit: 1, remaining: 1, resetSeconds: 0, degraded: true });
      assert.equal(errors.length, 3);
      assert.ok(errors[0] instanceof Error);
      assert.deepEqual(rateLimitHeaders(decisions[0]!), {});
    } finally {
      unreachable.disconnect();
    }
  });

  it("fail open after timeoutMs when Redis accepts the connection but never answers", { timeout: 5000 }, async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as AddressInfo;
    // Without the ready check and CLIENT SETINFO, ioredis is "ready" as soon as TCP connects; commands then hang.
    const hanging = new Redis({ host: "127.0.0.1", port, lazyConnect: true, enableReadyCheck: false, disableClientInfo: true, maxRetriesPerRequest: 0 });
    await hanging.connect();
    const errors: unknown[] = [];
    const limiter = createRateLimiter({ redis: hanging, timeoutMs: 50, onError: (error) => errors.push(error) });
    try {
      const started = performance.now();
      const decision = await limiter.consume("anyone");
      const elapsed = performance.now() - started;
      assert.equal(decision.allowed, true);
      assert.equal(decision.degraded, true);
      assert.deepEqual(decision, { allowed: true, limit: 100, remaining: 100, resetSeconds: 0, degraded: true });
      assert.ok(elapsed >= 45 && elapsed < 1000, `waited ${elapsed} ms`);
      assert.equal(errors.length, 1);
    } finally {
      hanging.disconnect();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
