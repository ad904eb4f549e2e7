// The four subgraphs and a gateway in one process (scripts/stack.ts startStack, as `npm start` and
// the tests wire them). mode "full": the gateway serves live subscriptions from Redis (latency.ts);
// the feed is wrapped to time when the gateway was woken and read each board-stream entry.
// mode "subgraphs": no subscriptions; its gateway idles while fanout.ts runs its own gateway process.
import { Redis } from "../redis.ts";
import type { EventFeed } from "../../../events/streams/feed.ts";
import { startStack } from "../../../scripts/stack.ts";
import { redisFeed, redisPresenceStore } from "../../../gateway/src/subscriptions/index.ts";
import { childConfig, fail, ready, serve } from "./ipc.ts";

export interface StackConfig {
  mode: "full" | "subgraphs";
  databaseUrl: string;
  signingSecret: string;
  jwt: { secret: string; issuer: string; audience: string };
  redisUrl: string;
  prefix: string;
  poolMax: number;
}

const now = () => performance.timeOrigin + performance.now();

/** Per board-stream entry: when the gateway's tail was last woken before reading it, and when the read returned. */
function timedFeed(feed: EventFeed, seen: Map<string, { woke: number; read: number }>): EventFeed {
  const lastWake = new Map<string, number>();
  return {
    ...feed,
    check: (stream, cursor) => feed.check(stream, cursor),
    latest: (stream) => feed.latest(stream),
    dispose: () => feed.dispose(),
    async read(stream, cursor, limit) {
      const entries = await feed.read(stream, cursor, limit);
      if (stream.key.includes("board:")) {
        const at = now();
        for (const entry of entries) if (!seen.has(entry.cursor)) seen.set(entry.cursor, { woke: lastWake.get(stream.key) ?? NaN, read: at });
      }
      return entries;
    },
    watch(stream, onWake) {
      return feed.watch(stream, () => {
        lastWake.set(stream.key, now());
        onWake();
      });
    },
  };
}

try {
  const config = childConfig<StackConfig>();
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1 });
  await redis.ping();
  const seen = new Map<string, { woke: number; read: number }>();
  const stack = await startStack({
    databaseUrl: config.databaseUrl,
    signingSecret: config.signingSecret,
    jwt: config.jwt,
    poolMax: config.poolMax,
    redis,
    redisPrefix: config.prefix,
    rateLimit: { perMinute: 10_000_000, perHour: 100_000_000 },
    subscriptions: config.mode === "full" ? { feed: timedFeed(redisFeed(redis), seen), presence: redisPresenceStore(redis, config.prefix), streamPrefix: config.prefix } : undefined,
  });
  serve(
    {
      timings: () => {
        const out = Object.fromEntries(seen);
        seen.clear();
        return out;
      },
    },
    async () => {
      await stack.dispose();
      redis.disconnect();
    },
  );
  ready({ gatewayUrl: stack.gateway.url, subgraphUrls: stack.subgraphUrls });
} catch (error) {
  fail(error);
}
