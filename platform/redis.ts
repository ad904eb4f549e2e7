import { readFileSync } from "node:fs";
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";

/**
 * A connection to one Redis or to a Redis Cluster. Everything the product keeps in Redis works on
 * both: every multi-key step (the bridge's append script) names keys of one hash slot, because an
 * organisation's keys share the `{org:<id>}` hash tag (events/streams/names.ts).
 */
export type RedisClient = Redis | Cluster;

/** How to reach Redis (platform/config.ts reads it from REDIS_*). */
export interface RedisConnection {
  /** `redis://` or `rediss://` (TLS); in cluster mode one seed node, from which the rest is discovered. */
  readonly url: string;
  /** Redis Cluster through ioredis' Cluster client. @default false */
  readonly cluster?: boolean;
  /** An ACL user (overrides the URL's user name). */
  readonly username?: string;
  /** The ACL user's password (overrides the URL's); from a secret, never from the repository. */
  readonly password?: string;
  /** A PEM file of the CAs that signed the servers' certificates (TLS: `rediss://` or this set). */
  readonly tlsCaFile?: string;
}

/** What the URL says, as options: ioredis reads these itself for one node, not for a cluster's nodes. */
function optionsOf(connection: RedisConnection): RedisOptions {
  const url = new URL(connection.url);
  const username = connection.username ?? (url.username ? decodeURIComponent(url.username) : undefined);
  const password = connection.password ?? (url.password ? decodeURIComponent(url.password) : undefined);
  const tls = url.protocol === "rediss:" || connection.tlsCaFile !== undefined;
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : undefined;
  return {
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(db === undefined || connection.cluster ? {} : { db }),
    ...(tls ? { tls: connection.tlsCaFile ? { ca: readFileSync(connection.tlsCaFile) } : {} } : {}),
  };
}

/**
 * A client for `connection`. `options` are the caller's client settings (retries, lazy connect);
 * in cluster mode they apply to each node's connection.
 */
export function createRedisClient(
  connection: RedisConnection,
  options: RedisOptions = {},
  clusterOptions: Omit<ClusterOptions, "redisOptions"> = {},
): RedisClient {
  const own = optionsOf(connection);
  const url = new URL(connection.url);
  const host = url.hostname || "127.0.0.1";
  const port = Number(url.port || 6379);
  if (!connection.cluster) return new Redis({ host, port, ...own, ...options });
  // A node's own reconnecting would hide its death from the cluster client (no "-node", no slot
  // refresh): nodes never retry by themselves, the cluster does, with the caller's pace.
  const { retryStrategy, ...nodeOptions } = options;
  return new Cluster([{ host, port }], {
    ...(retryStrategy ? { clusterRetryStrategy: (times: number) => retryStrategy(times) ?? null } : {}),
    // A node's replicas serve no reads: a subscriber resuming must see every entry its master has.
    scaleReads: "master",
    // The nodes announce their own addresses; TLS must verify those names, not the seed's.
    ...(own.tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
    ...clusterOptions,
    redisOptions: { ...own, ...nodeOptions },
  });
}

/** Is this a Redis Cluster client? */
export function isCluster(redis: RedisClient): redis is Cluster {
  return (redis as Cluster).isCluster === true;
}
