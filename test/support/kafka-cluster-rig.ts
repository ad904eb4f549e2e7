// A three-node KRaft cluster of a test's own under the whole event pipeline, for the failover tests
// (test/kafka-cluster.test.ts) and the failover benchmark (bench/kafka-failover/): the cluster
// (infra/kafka/start.sh, KAFKA_NODES=3, free ports, a data dir of its own; the machine's shared
// broker is never touched), topics as the design has them (12 partitions, replication factor 3,
// min.insync.replicas 2), the stack with live subscriptions, relay + bridge, the integrations
// runtime's consumer with a webhook to a receiver on loopback, two boardActivity subscribers that
// reconnect and resume as a frontend does, and writers renaming items through the gateway. What a
// kill changes is measured by failover(); settle() asserts every event exactly once everywhere.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { type Admin, type Kafka, Partitioners } from "kafkajs";
import { pino } from "pino";
import { createKafka, DEAD_LETTER_TOPIC, DOMAIN_TOPICS, ensureTopics } from "../../events/kafka.ts";
import { startIntegrationsRuntime, type IntegrationsRuntime } from "../../subgraphs/integrations/runtime/index.ts";
import { mintSecret } from "../../subgraphs/integrations/runtime/webhooks/secrets.ts";
import { assertExact, count, report } from "./faults/counting.ts";
import { ResumingSubscriber } from "./faults/resuming-subscriber.ts";
import { Writer } from "./faults/writer.ts";
import { startHarness, type Harness } from "./harness.ts";
import { KafkaNodes } from "./kafka-nodes.ts";
import { startLivePipeline, type LivePipeline } from "./live.ts";
import { bounded, waitFor } from "./wait.ts";
import { Receiver, status } from "./webhook-receiver.ts";

const silent = pino({ level: "silent" });
export const TOPICS: readonly string[] = [...DOMAIN_TOPICS, DEAD_LETTER_TOPIC];
/** The design's topics on a cluster of three. */
const CLUSTER_TOPICS = { partitions: 12, replicationFactor: 3, minInsyncReplicas: 2, retentionMs: 7 * 86_400_000 };
/**
 * A failover step is awaited this long at most. A broker is fenced after 4 s here (infra/kafka/cluster.sh),
 * but kafkajs consumers then crash and restart with backoff (their own 5 retries, up to 30 s apart):
 * 15-30 s until the first event on an idle machine, past 45 s on two cores shared with other suites.
 */
const FAILOVER_TIMEOUT_MS = 120_000;

export interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly leader: number;
  readonly isr: readonly number[];
}

/** Every partition of `topics` as the brokers `admin` knows see it. */
export async function partitions(admin: Admin, topics: readonly string[]): Promise<PartitionState[]> {
  const { topics: metadata } = await admin.fetchTopicMetadata({ topics: [...topics] });
  return metadata.flatMap((topic) => topic.partitions.map((p) => ({ topic: topic.name, partition: p.partitionId, leader: p.leader, isr: p.isr })));
}

/** The wall-clock time of a broker log line ("[2026-12-06 02:52:43,987] …", the JVM's local time). */
function logTime(line: string): number | null {
  const match = /^\[(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d),(\d{3})\]/.exec(line);
  if (!match) return null;
  const [, y, mo, d, h, mi, s, ms] = match.map(Number) as [number, number, number, number, number, number, number, number];
  return new Date(y, mo - 1, d, h, mi, s, ms).getTime();
}

/** When the first of `nodes` logged becoming the quorum leader ("Completed transition to Leader") at or after `since`, if any did. */
export async function quorumLeaderLoggedAt(cluster: KafkaNodes, nodes: readonly number[], since: number): Promise<number | null> {
  const times = (
    await Promise.all(
      nodes.map(async (id) =>
        (
          await readFile(cluster.logFile(id), "utf8")
        )
          .split("\n")
          .filter((line) => line.includes("Completed transition to Leader"))
          .map(logTime)
          .filter((time): time is number => time !== null && time >= since - 1_000),
      ),
    )
  ).flat();
  return times.length > 0 ? Math.min(...times) : null;
}

export interface FailoverTimes {
  /** kill -> no partition led by the killed node. */
  readonly leadersMs: number;
  /** kill -> a rename written after the kill reached both subscribers. */
  readonly firstEventMs: number;
  /** kill -> a webhook for an event written after the kill reached the receiver. */
  readonly firstWebhookMs: number;
}

export interface ClusterRig {
  readonly cluster: KafkaNodes;
  readonly harness: Harness;
  /** An admin client of every node (kafkajs skips the dead ones). */
  readonly admin: Admin;
  /** Nodes killed and not started again: liveAdmin() leaves them out. */
  readonly dead: Set<number>;
  /** The items of the subscribers' board. */
  readonly boardItemIds: readonly string[];
  /** Writers renaming `items` (default: the board's first three), "<phase><i>-<n>". */
  writers(phase: string, items?: readonly string[], paceMs?: number): Writer[];
  /** Stops every writer started (a failed scenario's would go on). */
  stopWriters(): Promise<void>;
  liveAdmin<T>(use: (admin: Admin) => Promise<T>): Promise<T>;
  /** Every partition's end offset now (`<topic>/<partition>`), a baseline for busiestPartition. */
  partitionEnds(): Promise<ReadonlyMap<string, number>>;
  /**
   * The partition with the most messages (since `baseline` when given: the busiest right now, not
   * over the topics' whole history, which the warm-up and the seed's events weigh on).
   */
  busiestPartition(baseline?: ReadonlyMap<string, number>): Promise<PartitionState & { readonly high: number }>;
  /** The item-events partition `itemId`'s events go to (kafkajs' default partitioner, as the relay's producer). */
  partitionOf(itemId: string): Promise<PartitionState>;
  /** Waits until no partition is led by `killed` and events written after the kill reach subscribers and receiver. */
  failover(killed: number, killedAt: number, ws: readonly Writer[]): Promise<FailoverTimes>;
  /** Waits until every replica of every partition is in sync again. */
  inSync(): Promise<void>;
  /** Stops `ws`, waits until everything arrived, asserts exactly once everywhere and a drained backlog. */
  settle(t: TestContext, scenario: string, ws: readonly Writer[], extra: string): Promise<void>;
  print(t: TestContext, line: string): void;
  dispose(): Promise<void>;
}

/** Starts the cluster and the stack (in parallel), the pipeline and the subscribers, and warms them up. */
export async function startClusterRig(name: string, options: { readonly itemsPerBoard?: number } = {}): Promise<ClusterRig> {
  const root = `/tmp/sunday-kafka-cluster-${name}-${process.pid}`;
  let cluster: KafkaNodes | undefined;
  let harness: Harness | undefined;
  let runtime: IntegrationsRuntime | undefined;
  let pipeline: LivePipeline | undefined;
  let kafka: Kafka | undefined;
  let admin: Admin | undefined;
  let writerToken = "";
  /** Every item a writer renamed: what the webhook receiver must have an event of. */
  const itemIds = new Set<string>();
  let boardItemIds: string[] = [];
  let alice: ResumingSubscriber | undefined;
  let bob: ResumingSubscriber | undefined;
  const subscribers = (): ResumingSubscriber[] => [alice, bob].filter((who): who is ResumingSubscriber => who !== undefined);
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the rig's ${what} is not started`);
    return value;
  };
  const receiver = new Receiver(status(204));
  /** Nodes this file killed and did not start again. */
  const dead = new Set<number>();

  /** An admin client of the live nodes only, so a dead node's address costs no connection timeouts. */
  async function liveAdmin<T>(use: (admin: Admin) => Promise<T>): Promise<T> {
    const nodes = need(cluster, "cluster");
    const live = nodes.ids.filter((id) => !dead.has(id)).map((id) => nodes.broker(id));
    const client = createKafka(`kafka-cluster-probe-${randomUUID().slice(0, 8)}`, live, { retry: { retries: 1, initialRetryTime: 100 } });
    const probe = client.admin();
    await probe.connect();
    try {
      return await use(probe);
    } finally {
      await probe.disconnect();
    }
  }

  /** Writers started and not yet stopped by afterEach (a failed scenario's keep going otherwise). */
  const running: Writer[] = [];
  const writers = (phase: string, items: readonly string[] = boardItemIds.slice(0, 3), paceMs?: number) => {
    const started = items.map((itemId, i) => new Writer(need(harness, "harness"), writerToken, itemId, `${phase}${i}`, paceMs).start());
    for (const itemId of items) itemIds.add(itemId);
    running.push(...started);
    return started;
  };

  /** Waits until `who` received every name each writer sent. */
  const receivedAll = (who: ResumingSubscriber, ws: readonly Writer[], timeoutMs = FAILOVER_TIMEOUT_MS) =>
    waitFor(
      `${who.label} to receive every rename of ${ws.map((w) => w.prefix).join(", ")}`,
      () =>
        ws.every((w) => {
          const got = new Set(who.names(w.prefix));
          return w.sent.every((name) => got.has(name));
        }),
      () => ws.map((w) => `${w.prefix}: ${who.names(w.prefix).length}/${w.sent.length}`).join("; "),
      timeoutMs,
    );

  /** The outbox events of the writers' items: what the webhook receiver must get. */
  async function itemEventIds(): Promise<string[]> {
    const rows = await need(harness, "harness").prisma.outboxEvent.findMany({ where: { aggregateId: { in: [...itemIds] } }, select: { id: true } });
    return rows.map((row) => row.id);
  }

  /** Webhook requests by event id: each event once, retries (if any) with the same webhook-id. */
  function webhookCounts(expected: readonly string[]): { lost: string[]; retries: number; distinctIdsPerEvent: number[] } {
    const byEvent = new Map<string, string[]>();
    for (const request of receiver.requests) {
      const eventId = (JSON.parse(request.body) as { id: string }).id;
      byEvent.set(eventId, [...(byEvent.get(eventId) ?? []), String(request.headers["webhook-id"])]);
    }
    const lost = expected.filter((id) => !byEvent.has(id));
    const retries = [...byEvent.values()].reduce((sum, ids) => sum + ids.length - 1, 0);
    return { lost, retries, distinctIdsPerEvent: [...byEvent.values()].map((ids) => new Set(ids).size) };
  }

  /** No partition is led by `killed` (a probe that fails, a dead node still listed, is "not yet"). */
  async function leadersMovedFrom(killed: number): Promise<boolean> {
    const states = await liveAdmin((probe) => partitions(probe, TOPICS)).catch(() => null);
    return states?.every((p) => p.leader !== killed && p.leader >= 0) ?? false;
  }

  const backlog = () => need(harness, "harness").prisma.outboxEvent.count({ where: { publishedAt: null } });

  /**
   * Polls what a kill changed, from the moment `killedAt`: the partitions the node led get new
   * leaders, the first rename written after the kill reaches both subscribers. Resolves with the ms each took.
   */
  async function failover(killed: number, killedAt: number, ws: readonly Writer[]): Promise<FailoverTimes> {
    const sentAtKill = ws.map((w) => w.sent.length);
    const webhooksAtKill = receiver.requests.length;
    const afterKill = () => ws.flatMap((w, i) => w.sent.slice(sentAtKill[i]));
    const leadersMoved = (async () => {
      await waitFor(
        `the partitions node ${killed} led to get new leaders`,
        () => leadersMovedFrom(killed),
        () => "",
        FAILOVER_TIMEOUT_MS,
      );
      return Date.now() - killedAt;
    })();
    const firstEvent = (async () => {
      await waitFor(
        "a rename written after the kill to reach both subscribers",
        () => {
          const fresh = new Set(afterKill());
          return fresh.size > 0 && subscribers().every((who) => ws.some((w) => who.names(w.prefix).some((name) => fresh.has(name))));
        },
        () => `renames since the kill: ${afterKill().length}`,
        FAILOVER_TIMEOUT_MS,
      );
      return Date.now() - killedAt;
    })();
    const firstWebhook = (async () => {
      const ids = new Set<string>();
      await waitFor(
        "a webhook for an event written after the kill",
        async () => {
          if (receiver.requests.length <= webhooksAtKill) return false;
          if (ids.size === 0) for (const id of await eventIdsOf(afterKill())) ids.add(id);
          return receiver.requests.slice(webhooksAtKill).some((request) => ids.has((JSON.parse(request.body) as { id: string }).id));
        },
        () => "",
        FAILOVER_TIMEOUT_MS,
      );
      return Date.now() - killedAt;
    })();
    const [leadersMs, firstEventMs, firstWebhookMs] = await Promise.all([leadersMoved, firstEvent, firstWebhook]);
    return { leadersMs, firstEventMs, firstWebhookMs };
  }

  /** The outbox event ids of renames (by new name) of the writers' items. */
  async function eventIdsOf(names: readonly string[]): Promise<string[]> {
    if (names.length === 0) return [];
    const rows = await need(harness, "harness").prisma.outboxEvent.findMany({ where: { aggregateId: { in: [...itemIds] } }, select: { id: true, envelope: true } });
    const wanted = new Set(names);
    return rows.filter((row) => wanted.has(String((row.envelope as { data?: { changes?: { name?: { to?: unknown } } } }).data?.changes?.name?.to))).map((row) => row.id);
  }

  /**
   * Where each rename `who` is missing got to: its outbox row (published?) and the Redis streams
   * under the harness's prefix that hold it, so a failure says which part lost it.
   */
  async function whereAre(who: ResumingSubscriber, ws: readonly Writer[]): Promise<string> {
    const missing = ws.flatMap((w) => {
      const got = new Set(who.names(w.prefix));
      return w.sent.filter((name) => !got.has(name));
    });
    if (missing.length === 0) return "nothing missing";
    const rows = await need(harness, "harness").prisma.outboxEvent.findMany({ where: { aggregateId: { in: [...itemIds] } }, select: { id: true, publishedAt: true, envelope: true } });
    const { redis, redisPrefix: prefix } = need(harness, "harness");
    const streams: string[] = [];
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*events*`, "COUNT", 1000);
      cursor = next;
      streams.push(...keys);
    } while (cursor !== "0");
    const found = await Promise.all(
      missing.map(async (name) => {
        const row = rows.find((r) => (r.envelope as { data?: { changes?: { name?: { to?: unknown } } } }).data?.changes?.name?.to === name);
        if (!row) return `${name}: no outbox row`;
        const holders: string[] = [];
        for (const key of streams) {
          if ((await redis.type(key)) !== "stream") continue;
          const entries = await redis.xrange(key, "-", "+");
          if (entries.some(([, fields]) => fields.some((field) => field.includes(row.id)))) holders.push(key.slice(prefix.length));
        }
        // The receiver is fed by another consumer group: an event it got is in Kafka, whatever the bridge did.
        const webhooks = receiver.requests.filter((request) => request.body.includes(row.id)).length;
        return `${name} (event ${row.id}): published ${row.publishedAt?.toISOString() ?? "no"}, in streams [${holders.join(", ")}], webhooks received ${webhooks}`;
      }),
    );
    return `${who.label} is missing ${found.join("; ")}; endings ${JSON.stringify(who.endings)}`;
  }

  /** Stops the writers, waits until everything arrived, and asserts exactly once everywhere. */
  async function settle(t: TestContext, scenario: string, ws: readonly Writer[], extra: string): Promise<void> {
    for (const w of ws) await w.stop();
    for (const who of subscribers()) {
      try {
        await receivedAll(who, ws);
      } catch (error) {
        throw new Error(`${error instanceof Error ? error.message : String(error)}\n${await whereAre(who, ws)}`, { cause: error });
      }
    }
    let left = -1;
    await waitFor(
      "the relay's backlog to drain",
      async () => (left = await backlog()) === 0,
      () => `backlog ${left}`,
      FAILOVER_TIMEOUT_MS,
    );
    const expected = await itemEventIds();
    await waitFor(
      `the webhook receiver to get all ${expected.length} events`,
      () => webhookCounts(expected).lost.length === 0,
      () => `missing ${webhookCounts(expected).lost.length}`,
      FAILOVER_TIMEOUT_MS,
    );
    // A sentinel per item: whatever could still arrive late (a duplicate of a replay) arrives before it.
    const sentinels = [...itemIds].map((itemId, i) => new Writer(need(harness, "harness"), writerToken, itemId, `sentinel-${scenario}${i}`).start());
    for (const w of sentinels) await w.sends(1);
    for (const w of sentinels) await w.stop();
    for (const who of subscribers()) await receivedAll(who, sentinels);
    const all = await itemEventIds();
    await waitFor(
      "the webhook receiver to get the sentinels' events",
      () => webhookCounts(all).lost.length === 0,
      () => `missing ${webhookCounts(all).lost.length}`,
      FAILOVER_TIMEOUT_MS,
    );
    await need(runtime, "integrations runtime").drain();
    const webhooks = webhookCounts(all);
    const counts = subscribers().flatMap((who) => ws.map((w) => count(`${who.label}/${w.prefix}`, w.sent, who.names(w.prefix))));
    report(t, `kafka-cluster ${scenario}`, counts, extra);
    const line = `[kafka-cluster] ${scenario} | webhooks: events=${all.length} lost=${webhooks.lost.length} retries=${webhooks.retries} | relay backlog=${await backlog()} | failed mutations=${ws.reduce((n, w) => n + w.failed.length, 0)}`;
    console.log(line);
    t.diagnostic(line);
    for (const who of subscribers()) for (const w of ws) assertExact(count(`${who.label}/${w.prefix}`, w.sent, who.names(w.prefix)), w.sent, who.names(w.prefix));
    assert.deepEqual(webhooks.lost, [], "every event reached the webhook receiver");
    assert.ok(
      webhooks.distinctIdsPerEvent.every((n) => n === 1),
      "an event delivered more than once was a retry with the same webhook-id",
    );
    assert.equal(await backlog(), 0);
    assert.deepEqual(
      ws.flatMap((w) => w.failed),
      [],
      "mutations only write the outbox",
    );
  }

  function print(t: TestContext, line: string): void {
    console.log(`[kafka-cluster] ${line}`);
    t.diagnostic(`[kafka-cluster] ${line}`);
  }

  const stopWriters = async () => {
    for (const w of running.splice(0)) await w.stop();
  };

  async function partitionEnds(): Promise<Map<string, number>> {
    const client = need(admin, "admin");
    const found = new Map<string, number>();
    for (const topic of TOPICS) {
      // kafkajs' fetchTopicOffsets fails now and then on a cluster (a TypeError inside it while its
      // metadata is incomplete): asked again until it answers.
      let ends: Awaited<ReturnType<Admin["fetchTopicOffsets"]>> = [];
      await waitFor(`the end offsets of ${topic}`, async () => {
        ends = await client.fetchTopicOffsets(topic).catch(() => []);
        return ends.length > 0;
      });
      for (const p of ends) found.set(`${topic}/${p.partition}`, Number(p.high));
    }
    return found;
  }

  async function busiestPartition(baseline?: ReadonlyMap<string, number>): Promise<PartitionState & { readonly high: number }> {
    const client = need(admin, "admin");
    const offsets = [...(await partitionEnds())].map(([key, high]) => {
      const [topic = "", partition = "0"] = key.split("/");
      return { topic, partition: Number(partition), high: high - (baseline?.get(key) ?? 0) };
    });
    const busiest = offsets.sort((a, b) => b.high - a.high)[0];
    assert.ok(busiest && busiest.high > 0, "messages on the topics");
    const state = (await partitions(client, [busiest.topic])).find((p) => p.partition === busiest.partition);
    assert.ok(state, "the busiest partition's metadata");
    return { ...state, high: busiest.high };
  }

  async function partitionOf(itemId: string): Promise<PartitionState> {
    const topic = TOPICS.find((name) => name === "item-events") ?? "item-events";
    const states = await partitions(need(admin, "admin"), [topic]);
    const partitionMetadata = states.map((p) => ({ partitionId: p.partition, leader: p.leader, partitionErrorCode: 0, replicas: [], isr: [...p.isr] }));
    const partition = Partitioners.DefaultPartitioner()({ topic, partitionMetadata, message: { key: itemId, value: null } });
    const state = states.find((p) => p.partition === partition);
    assert.ok(state, `partition ${partition} of ${topic}`);
    return state;
  }

  async function inSync(): Promise<void> {
    // With min.insync.replicas=2, a partition whose only other in-sync replica is on a node about
    // to be killed would refuse writes until a restarted one catches up.
    await waitFor(
      "every partition's replicas in sync",
      async () => {
        const states = await liveAdmin((probe) => partitions(probe, [...TOPICS, "__consumer_offsets"])).catch(() => null);
        return states?.every((p) => p.isr.length === need(cluster, "cluster").size) ?? false;
      },
      () => "",
      FAILOVER_TIMEOUT_MS,
    );
  }

  async function dispose(): Promise<void> {
    // Bring back what a failed scenario left dead, so the pipeline's clients can shut down.
    // Two nodes of three keep the quorum: only when fewer are left.
    const nodes = cluster;
    if (nodes && dead.size > 1) await bounded("restart the dead nodes", () => nodes.start(), 90_000);
    await stopWriters();
    for (const subscriber of subscribers()) await bounded(`stop ${subscriber.label}`, () => subscriber.stop());
    const [p, r, a, h] = [pipeline, runtime, admin, harness];
    if (p) await bounded("pipeline", () => p.dispose(), 30_000);
    if (r) await bounded("integrations runtime", () => r.close());
    if (a) await bounded("admin", () => a.disconnect());
    await receiver.close();
    if (h) await bounded("harness", () => h.dispose(), 30_000);
    // The data dir goes with it: a crash is as good as a controlled shutdown here, and faster.
    nodes?.killNow();
    await rm(root, { recursive: true, force: true });
  }

  try {
    await rm(root, { recursive: true, force: true });
    await mkdir(root, { recursive: true });
    const nodes = await KafkaNodes.onFreePorts(join(root, "kafka"), 3, { KAFKA_MIN_INSYNC_REPLICAS: "2" });
    cluster = nodes;
    process.once("exit", () => nodes.killNow());
    // The cluster's cold start (three JVMs) overlaps the database and the stack.
    const startedAt = Date.now();
    const [started, startLog] = await Promise.all([startHarness(name, { itemsPerBoard: options.itemsPerBoard ?? 3, subscriptions: {}, logger: silent }), nodes.start()]);
    harness = started;
    console.log(`[kafka-cluster] cluster and stack up in ${Date.now() - startedAt} ms:\n${startLog.trim()}`);

    kafka = createKafka(`kafka-cluster-${randomUUID().slice(0, 8)}`, nodes.brokers);
    const client = kafka.admin();
    admin = client;
    await client.connect();
    // Created here with the cluster's settings; the pipeline's own ensureTopics then finds them.
    await ensureTopics(client, TOPICS, CLUSTER_TOPICS);

    // The seed's webhooks point at example.invalid: out of the way.
    await started.prisma.webhook.updateMany({ data: { enabled: false } });
    const organization = started.seed.organizations[0];
    const { sealed } = mintSecret(started.stack.webhooks.keyRing);
    await started.prisma.webhook.create({
      data: { organizationId: organization.id, url: await receiver.url, secret: sealed, events: ["project.item.*"], createdById: organization.userIdsByRole.OWNER },
    });
    const integrations = await startIntegrationsRuntime({
      prisma: started.prisma,
      webhooks: started.stack.webhooks,
      retrySchedule: [100, 200, 400],
      dispatcher: { pollIntervalMs: 50, agent: { timeoutMs: 2_000 } },
      logger: silent,
    });
    runtime = integrations;
    pipeline = await startLivePipeline(started, { brokers: nodes.brokers, consumers: [{ groupId: `test-integrations-${randomUUID()}`, sink: integrations.sink }] });

    const board = organization.boards[0];
    boardItemIds = board.itemIds;
    writerToken = await started.token(0, "OWNER");
    const readerToken = await started.token(0, "MEMBER");
    // Never CURSOR_EXPIRED here (Redis keeps its streams): nothing to refetch.
    const refetch = async () => "";
    alice = new ResumingSubscriber("alice", started.stack.gateway.url, readerToken, board.id, refetch);
    bob = new ResumingSubscriber("bob", started.stack.gateway.url, readerToken, board.id, refetch);
    alice.start();
    bob.start();
    const warm = writers("warm");
    await waitFor(
      "both subscribers live",
      () => subscribers().every((who) => warm.every((w) => who.names(w.prefix).length > 0)),
      () => `sent ${warm.map((w) => w.sent.length).join("/")}`,
    );
    for (const w of running.splice(0)) await w.stop();
    for (const who of subscribers()) await receivedAll(who, warm);
  } catch (error) {
    await dispose();
    throw error;
  }
  return {
    cluster: need(cluster, "cluster"),
    harness: need(harness, "harness"),
    admin: need(admin, "admin"),
    dead,
    boardItemIds,
    writers,
    stopWriters,
    liveAdmin,
    busiestPartition,
    partitionEnds,
    partitionOf,
    failover,
    inSync,
    settle,
    print,
    dispose,
  };
}
