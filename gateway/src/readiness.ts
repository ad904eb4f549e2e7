import type { RedisClient } from "../../platform/redis.ts";

export interface Readiness {
  ready: boolean;
  supergraph: boolean;
  draining: boolean;
  subgraphs: Record<string, boolean>;
  redis: boolean | "not_configured";
}

const TIMEOUT_MS = 1000;

async function reachable(graphqlUrl: string): Promise<boolean> {
  try {
    const response = await fetch(new URL("/healthz", graphqlUrl), { signal: AbortSignal.timeout(TIMEOUT_MS) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

async function redisUp(redis: RedisClient): Promise<boolean> {
  try {
    const pong = await Promise.race([redis.ping(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error("timeout")), TIMEOUT_MS).unref())]);
    return pong === "PONG";
  } catch {
    return false;
  }
}

/**
 * Ready = serving a supergraph and not shutting down. Subgraphs and Redis are reported, not
 * required: they are shared by every gateway, so failing readiness on them would take every
 * instance out of the load balancer at once, turning one subgraph's outage (partial data, per
 * field errors) or a Redis blip (rate limits fail open) into no service at all.
 */
export async function checkReadiness(options: {
  draining: boolean;
  /** Read at each check: a hot reload can change the list. */
  subgraphs: readonly { name: string; url: string }[];
  redis: RedisClient | undefined;
  supergraphLoaded: () => boolean;
}): Promise<Readiness> {
  const [subgraphs, redis] = await Promise.all([
    Promise.all(options.subgraphs.map(async ({ name, url }) => [name, await reachable(url)] as const)),
    options.redis ? redisUp(options.redis) : Promise.resolve("not_configured" as const),
  ]);
  const supergraph = options.supergraphLoaded();
  const ready = supergraph && !options.draining;
  return { ready, supergraph, draining: options.draining, subgraphs: Object.fromEntries(subgraphs), redis };
}
