// A Redis Cluster of a test's own: 3 masters and 3 replicas from the `redis-server` binary on free
// ports, joined by `redis-cli --cluster create`, ready when every node reports cluster_state:ok and
// every master has its replica in sync. Node timeout 1 s, so a killed master fails over in seconds.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { freePort } from "./free-port.ts";
import { preflight } from "./preflight.ts";
import { startRedisServer, type OwnRedisServer } from "./redis-server.ts";
import { waitFor } from "./wait.ts";

const run = promisify(execFile);

export interface OwnRedisCluster {
  /** Every node, masters and replicas, by port. */
  readonly nodes: ReadonlyMap<number, OwnRedisServer>;
  /** A seed URL for a cluster client. */
  readonly url: string;
  /** The port of the master that serves `key` now. */
  masterOf(key: string): Promise<number>;
  /** Resolves once every slot is served again (a replica promoted) and the cluster says ok. */
  healthy(timeoutMs?: number): Promise<void>;
  dispose(): Promise<void>;
}

/** A plain connection to one node, for CLUSTER commands. */
async function ask<T>(port: number, ...command: [string, ...(string | number)[]]): Promise<T> {
  const node = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  node.on("error", () => undefined);
  try {
    await node.connect();
    return (await node.call(...command)) as T;
  } finally {
    node.disconnect();
  }
}

export async function startRedisCluster(): Promise<OwnRedisCluster> {
  await preflight("redis-server");
  const dir = await mkdtemp(join(tmpdir(), "sunday-redis-cluster-"));
  const ports: number[] = [];
  // The cluster bus listens on a port of its own (by default port + 10000, past 65535 for high ports).
  const busPorts: number[] = [];
  for (let index = 0; index < 6; index += 1) {
    ports.push(await freePort());
    busPorts.push(await freePort());
  }
  const nodes = new Map<number, OwnRedisServer>();
  const alive = () => [...nodes].filter(([, node]) => node.process.exitCode === null && node.process.signalCode === null).map(([port]) => port);
  try {
    const started = await Promise.all(
      ports.map((port, index) =>
        startRedisServer(port, [
          "--cluster-port",
          String(busPorts[index]),
          "--save",
          "",
          "--appendonly",
          "no",
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          join(dir, `nodes-${port}.conf`),
          "--cluster-node-timeout",
          "1000",
          "--dir",
          dir,
        ]),
      ),
    );
    for (const node of started) nodes.set(node.port, node);
    await run("redis-cli", ["--cluster", "create", ...ports.map((port) => `127.0.0.1:${port}`), "--cluster-replicas", "1", "--cluster-yes"]);
  } catch (error) {
    for (const node of nodes.values()) node.process.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  const healthy = async (timeoutMs = 30_000) => {
    await waitFor(
      "every node of the Redis cluster reports cluster_state:ok, every master a replica in sync",
      async () => {
        for (const port of alive()) {
          const info = await ask<string>(port, "CLUSTER", "INFO").catch(() => "");
          if (!info.includes("cluster_state:ok")) return false;
        }
        const masters = (await ask<string>(alive()[0] ?? 0, "CLUSTER", "NODES")).split("\n").filter((line) => line.includes("master") && !line.includes("fail"));
        for (const line of masters) {
          const port = Number(/:(\d+)@/.exec(line)?.[1]);
          const replication = await ask<string>(port, "INFO", "replication").catch(() => "");
          // A master counts once a replica is online and caught up; a promoted one has none left to wait for.
          if (alive().length === 6 && !/slave0:.*state=online/.test(replication)) return false;
        }
        return true;
      },
      () => alive().join(","),
      timeoutMs,
    );
  };
  await healthy();

  return {
    nodes,
    url: `redis://127.0.0.1:${ports[0]}`,
    async masterOf(key) {
      const slot = await ask<number>(alive()[0] ?? 0, "CLUSTER", "KEYSLOT", key);
      const shards = await ask<[number, number, [string, number, ...unknown[]], ...unknown[]][]>(alive()[0] ?? 0, "CLUSTER", "SLOTS");
      const owner = shards.find(([from, to]) => slot >= from && slot <= to);
      if (!owner) throw new Error(`no master serves slot ${slot}`);
      return Number(owner[2][1]);
    },
    healthy,
    async dispose() {
      for (const node of nodes.values()) node.process.kill("SIGKILL");
      await Promise.all([...nodes.values()].map((node) => node.exited));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
