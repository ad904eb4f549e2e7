// One gateway instance alone in its process (fanout.ts reads its RSS and CPU), with live
// subscriptions from the Redis streams the bridge writes; subgraphs are another process's.
import { readFile } from "node:fs/promises";
import { Redis } from "ioredis";
import { startGateway } from "../../../gateway/src/server.ts";
import { SUPERGRAPH_PATH } from "../../../scripts/stack.ts";
import { redisFeed, redisPresenceStore } from "../../../gateway/src/subscriptions/index.ts";
import { childConfig, fail, ready, serve } from "./ipc.ts";

export interface GatewayConfig {
  signingSecret: string;
  jwt: { secret: string; issuer: string; audience: string };
  redisUrl: string;
  prefix: string;
  subgraphUrls: Record<string, string>;
}

try {
  const config = childConfig<GatewayConfig>();
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1 });
  await redis.ping();
  const gateway = await startGateway({
    supergraph: { sdl: await readFile(SUPERGRAPH_PATH, "utf8") },
    signingSecret: config.signingSecret,
    jwt: config.jwt,
    subgraphUrls: config.subgraphUrls,
    redis,
    redisPrefix: config.prefix,
    rateLimit: { perMinute: 10_000_000, perHour: 100_000_000 },
    subscriptions: { feed: redisFeed(redis), presence: redisPresenceStore(redis, config.prefix), streamPrefix: config.prefix },
  });
  serve(
    {
      sockets: () => gateway.subscriptions?.sockets() ?? 0,
      gc: () => {
        (globalThis as { gc?: () => void }).gc?.();
        return process.memoryUsage();
      },
      memory: () => process.memoryUsage(),
    },
    async () => {
      await gateway.dispose();
      redis.disconnect();
    },
  );
  ready({ gatewayUrl: gateway.url });
} catch (error) {
  fail(error);
}
