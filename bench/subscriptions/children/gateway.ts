// One gateway instance alone in its process (fanout.ts reads its RSS and CPU), with live
// subscriptions from the Redis streams the bridge writes; subgraphs are another process's.
import { readFile, writeFile } from "node:fs/promises";
import { Session } from "node:inspector";
import { writeHeapSnapshot } from "node:v8";
import { Redis } from "../redis.ts";
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
  // A CPU profile of a window (fanout.ts brackets the changes with profile-start/-stop), and heap snapshots.
  let session: Session | null = null;
  const post = <T>(method: string, params: object = {}) => new Promise<T>((resolve, reject) => session!.post(method, params, (error, result) => (error ? reject(error) : resolve(result as T))));
  serve(
    {
      "profile-start": async () => {
        session = new Session();
        session.connect();
        await post("Profiler.enable");
        await post("Profiler.setSamplingInterval", { interval: 500 });
        await post("Profiler.start");
        return true;
      },
      "profile-stop": async (message) => {
        const { profile } = await post<{ profile: unknown }>("Profiler.stop");
        await writeFile(message.path as string, JSON.stringify(profile));
        session?.disconnect();
        session = null;
        return message.path;
      },
      "heap-snapshot": (message) => writeHeapSnapshot(message.path as string),
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
