// The soak's processes, each its own: the four subgraphs and the gateway (`scripts/serve.ts
// <part>`, test/support/served-part.ts), the outbox relay and the bridge (`events/main.ts relay|
// bridge`) and the integrations runtime (`scripts/serve.ts integrations-runtime`), supervised as in
// bench/webhooks/faults; a Kafka broker and a redis-server of the run's own (the production entry
// points have fixed topic names and consumer groups, so on the shared broker they would mix with
// anyone else's `sunday-bridge`); and a round-robin proxy per part (bench/soak/children/proxy.ts)
// standing in for a Kubernetes Service, so that replicas can join and leave rotation.
import { join } from "node:path";
import { KafkaBroker } from "../../test/support/faults/kafka-broker.ts";
import { freePort } from "../../test/support/free-port.ts";
import { startRedisServer, type OwnRedisServer } from "../../test/support/redis-server.ts";
import { startServedPart, type ServedPart as ServedHttpPart, type ServedPartName } from "../../test/support/served-part.ts";
import { BENCH_JWT, BENCH_SIGNING_SECRET, startChild, type Child } from "../subscriptions/lib.ts";
import { ServedPart } from "../webhooks/faults/served-part.ts";
import type { Watched } from "./measure.ts";

export const SUBGRAPHS = ["users", "projects", "items", "integrations"] as const;
type Subgraph = (typeof SUBGRAPHS)[number];

export interface StackOptions {
  readonly work: string;
  readonly databaseUrl: string;
  readonly keyRingText: string;
  readonly logLevel: string;
  readonly say: (line: string) => void;
}

export class Stack {
  redis: OwnRedisServer | null = null;
  readonly broker: KafkaBroker;
  readonly proxies = new Map<ServedPartName, Child>();
  /** Replicas by part, in start order ("items-1", "items-2", …). */
  readonly replicas = new Map<ServedPartName, ServedHttpPart[]>();
  readonly pipeline: ServedPart[] = [];
  private readonly options: StackOptions;

  private constructor(options: StackOptions, broker: KafkaBroker) {
    this.options = options;
    this.broker = broker;
  }

  static async create(options: StackOptions): Promise<Stack> {
    return new Stack(options, await KafkaBroker.onFreePorts(join(options.work, "kafka")));
  }

  get redisUrl(): string {
    return `redis://127.0.0.1:${this.redis?.port ?? 0}`;
  }

  proxyUrl(part: ServedPartName): string {
    const url = this.proxies.get(part)?.info.url;
    if (typeof url !== "string") throw new Error(`no proxy for ${part}`);
    return url;
  }

  /** Redis, Kafka, the proxies, one replica of every part, the relay, the bridge and the runtime. */
  async start(): Promise<void> {
    const { say } = this.options;
    this.redis = await startRedisServer(await freePort());
    say(`redis-server on ${this.redis.port}; starting a Kafka broker (~15 s)`);
    await this.broker.start();
    for (const part of [...SUBGRAPHS, "gateway"] as const) this.proxies.set(part, await startChild(`proxy-${part}`, "../../soak/children/proxy.ts", { backends: [] }));
    await Promise.all(SUBGRAPHS.map((part) => this.addReplica(part)));
    // The gateway's /readyz asks the subgraphs, through their proxies.
    await this.rotate(1, SUBGRAPHS);
    await this.addReplica("gateway");
    await this.rotate(1);
    const env = {
      DATABASE_URL: this.options.databaseUrl,
      KAFKA_BROKERS: this.broker.brokers.join(","),
      REDIS_URL: this.redisUrl,
      WEBHOOK_SECRET_KEYS: this.options.keyRingText,
      WEBHOOK_ALLOW_PRIVATE_TARGETS: "true",
      NODE_ENV: "production",
      LOG_LEVEL: this.options.logLevel,
    };
    const part = async (name: string, args: string[]) => {
      const served = new ServedPart({ name, args, env, port: await freePort(), logPath: join(this.options.work, `${name}.log`) });
      this.pipeline.push(served);
      await served.start();
      served.watch(2_000);
    };
    await Promise.all([part("relay", ["events/main.ts", "relay"]), part("bridge", ["events/main.ts", "bridge"]), part("runtime", ["scripts/serve.ts", "integrations-runtime"])]);
  }

  private envOf(part: ServedPartName): Record<string, string> {
    const peers = {
      USERS_URL: `${this.proxyUrl("users")}/graphql`,
      PROJECTS_URL: `${this.proxyUrl("projects")}/graphql`,
      ITEMS_URL: `${this.proxyUrl("items")}/graphql`,
      INTEGRATIONS_URL: `${this.proxyUrl("integrations")}/graphql`,
    };
    const common = { ...peers, INTERNAL_SIGNING_SECRET: BENCH_SIGNING_SECRET, NODE_ENV: "production", LOG_LEVEL: this.options.logLevel };
    if (part !== "gateway") return { ...common, DATABASE_URL: this.options.databaseUrl, WEBHOOK_SECRET_KEYS: this.options.keyRingText };
    return {
      ...common,
      REDIS_URL: this.redisUrl,
      JWT_SECRET: BENCH_JWT.secret,
      JWT_ISSUER: BENCH_JWT.issuer,
      JWT_AUDIENCE: BENCH_JWT.audience,
      // As docker-compose and `npm start` run the gateway.
      NODE_OPTIONS: "--max-semi-space-size=64",
    };
  }

  /** Starts one more replica of `part` (not in rotation yet). */
  async addReplica(part: ServedPartName): Promise<ServedHttpPart> {
    const replica = await startServedPart(part, this.envOf(part));
    this.replicas.set(part, [...(this.replicas.get(part) ?? []), replica]);
    await replica.ready(60_000);
    return replica;
  }

  /** Puts the first `count` replicas of every part in rotation (and only those). */
  async rotate(count: number, parts: readonly ServedPartName[] = [...this.proxies.keys()]): Promise<void> {
    for (const part of parts) {
      const proxy = this.proxies.get(part);
      if (!proxy) throw new Error(`no proxy for ${part}`);
      const backends = (this.replicas.get(part) ?? []).slice(0, count).map((replica) => replica.url);
      if (backends.length < count) throw new Error(`${part}: ${backends.length} replicas running, ${count} wanted in rotation`);
      await proxy.request("rotate", { backends });
    }
  }

  /** Every process of the stack, named for the report. */
  watched(): Watched[] {
    const list: Watched[] = [];
    for (const [part, replicas] of this.replicas) {
      for (const [index, replica] of replicas.entries()) list.push({ name: `${part}-${index + 1}`, pid: () => replica.child.pid ?? null });
    }
    for (const part of this.pipeline) list.push({ name: part.name, pid: () => part.pid });
    for (const [part, proxy] of this.proxies) list.push({ name: `proxy-${part}`, pid: () => proxy.pid });
    list.push({ name: "kafka", pid: () => this.broker.pid() });
    list.push({ name: "redis", pid: () => this.redis?.process.pid ?? null });
    return list;
  }

  /** Parts that exited on their own (the supervised pipeline restarts them). */
  unexpectedExits(): string[] {
    const exits: string[] = [];
    for (const part of this.pipeline) for (const exit of part.unexpectedExits) exits.push(`${part.name}: ${exit.detail ?? ""}`);
    for (const [part, replicas] of this.replicas) {
      replicas.forEach((replica, index) => {
        if (replica.child.exitCode !== null || replica.child.signalCode !== null) exits.push(`${part}-${index + 1}: exited (${replica.child.exitCode ?? replica.child.signalCode})`);
      });
    }
    return exits;
  }

  async stop(): Promise<void> {
    for (const part of this.pipeline) await part.dispose().catch(() => undefined);
    for (const replicas of this.replicas.values()) for (const replica of replicas) await replica.stop().catch(() => undefined);
    for (const proxy of this.proxies.values()) await proxy.stop().catch(() => undefined);
    await this.broker.dispose().catch(() => undefined);
    this.redis?.process.kill("SIGTERM");
    await this.redis?.exited;
  }

  killNow(): void {
    for (const part of this.pipeline) part.killNow();
    for (const replicas of this.replicas.values()) for (const replica of replicas) replica.killNow();
    for (const proxy of this.proxies.values()) proxy.process.kill("SIGKILL");
    this.broker.killNow();
    this.redis?.process.kill("SIGKILL");
  }

  subgraphReplicaCount(part: Subgraph): number {
    return this.replicas.get(part)?.length ?? 0;
  }
}
