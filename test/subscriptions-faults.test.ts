// Fault tests of live subscriptions (issue 4): the whole pipeline, Postgres outbox -> relay -> Kafka
// -> bridge -> Redis Streams -> gateway -> graphql-ws client, with real services that this file starts
// itself so it can stop them: its own Kafka broker (infra/kafka/start.sh on free ports, own data dir)
// and its own redis-server. The machine's shared Kafka (9092) and Redis (6379), used by the test files
// running alongside, are never touched.
//
// In every scenario a writer renames one item ("<scenario>-<n>") while the fault happens, and two
// subscribers of boardActivity (clients that reconnect and resume with `after: <last cursor>` as a
// frontend would) count what they receive by name. The assertion is exact: the names delivered to a
// client are the names of the mutations that succeeded, each once, in order (0 lost, 0 duplicates).
// Each scenario prints its counts ("[faults] ..." lines: sent, delivered, lost, duplicates).
//
//   1, 1b  Kafka broker stopped (stop.sh) / killed (SIGKILL) and started again
//   2      relay and bridge restarted
//   3      crash replays: outbox rows published but not marked sent are published again; the
//          bridge's committed offsets are rewound behind what Redis has (Kafka holds duplicates)
//   4      Redis (AOF, fsync always) SIGKILLed; one client drops and retries during the outage
//   4b     Redis down for 12 s, twice the bridge's Kafka session (6 s here, 10 s in production):
//          the bridge keeps its group membership, is not ready meanwhile, and catches up by itself
//   5      Redis without persistence restarted: the streams are gone; every subscriber is told
//          CURSOR_EXPIRED and refetches (never a silent gap; see the test for "0 lost")
//
// The services and clients are fixtures of test/support/faults/: kafka-broker.ts, redis-process.ts,
// resuming-subscriber.ts (the subscriber), writer.ts (the writer), counting.ts (counts, exactness).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { Redis } from "ioredis";
import { pino } from "pino";
import { bridgeRedis, startBridge, type Bridge } from "../events/bridge/bridge.ts";
import { parseEventMessage } from "../events/contracts/registry.ts";
import { startHarness, type Harness } from "./support/harness.ts";
import { startLivePipeline, type LivePipeline } from "./support/live.ts";
import { freePort } from "./support/free-port.ts";
import { bounded, sleep, waitFor } from "./support/wait.ts";
import { KafkaBroker } from "./support/faults/kafka-broker.ts";
import { RedisProcess } from "./support/faults/redis-process.ts";
import { ResumingSubscriber } from "./support/faults/resuming-subscriber.ts";
import { UPDATE_ITEM, Writer } from "./support/faults/writer.ts";
import { assertExact, assertNoSilentGap, count, report } from "./support/faults/counting.ts";
import { streamsOf } from "../events/streams/names.ts";

/** Scenario 4b: the bridge's Kafka session, and a Redis outage twice as long. */
const BRIDGE_SESSION_MS = 6_000;
const LONG_OUTAGE_MS = 12_000;
const ITEM_TOPIC = "item-events";

describe("live subscriptions under faults: Kafka broker, relay, bridge and Redis restarted mid-stream (own broker and Redis)", () => {
  const root = `/tmp/sunday-faults-${process.pid}`;
  let kafka: KafkaBroker;
  let redisServer: RedisProcess;
  let redis: Redis;
  let harness: Harness;
  let pipeline: LivePipeline;
  let writerToken: string;
  let itemId: string;
  /** `alice` stays connected throughout; `bob` also goes offline during the Redis restarts. */
  let alice: ResumingSubscriber;
  let bob: ResumingSubscriber;
  const subscribers = () => [alice, bob];

  const writer = (prefix: string) => new Writer(harness, writerToken, itemId, prefix).start();
  /** The refetch a frontend does after CURSOR_EXPIRED: the item through the API. */
  const refetchItem = (token: string) => async () => {
    const result = await harness.gql(token, `query FaultRefetch($id: ID!) { item(id: $id) { name } }`, { id: itemId });
    const name = (result.body.data?.item as { name?: unknown } | null | undefined)?.name;
    if (typeof name !== "string") throw new Error(`refetch failed: ${JSON.stringify(result.body)}`);
    return name;
  };

  /** Waits until `who` received every name of `sent` (or fails listing what it did get). */
  const receivedAll = (who: ResumingSubscriber, prefix: string, sent: readonly string[]) =>
    waitFor(
      `${who.label} to receive ${sent.length} events of ${prefix}`,
      () => {
        const got = new Set(who.names(prefix));
        return sent.every((name) => got.has(name));
      },
      () => `${who.label} got ${JSON.stringify(who.names(prefix))} of ${JSON.stringify(sent)}; endings ${JSON.stringify(who.endings)}`,
    );

  /** The bridge's group has committed up to the end of the item topic: nothing left to replay. */
  async function bridgeCaughtUp(): Promise<boolean> {
    const admin = pipeline.kafka.admin();
    await admin.connect();
    try {
      const [ends, groups] = await Promise.all([admin.fetchTopicOffsets(ITEM_TOPIC), admin.fetchOffsets({ groupId: pipeline.bridgeGroupId, topics: [ITEM_TOPIC] })]);
      const committed = new Map((groups[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      return ends.every((end) => Number(end.high) === 0 || committed.get(end.partition) === Number(end.high));
    } finally {
      await admin.disconnect();
    }
  }

  /** The member ids of the bridge's consumer group: the same id means the member was never dropped. */
  async function bridgeMembers(): Promise<string[]> {
    const admin = pipeline.kafka.admin();
    await admin.connect();
    try {
      const { groups } = await admin.describeGroups([pipeline.bridgeGroupId]);
      return (groups[0]?.members ?? []).map((member) => member.memberId).sort();
    } finally {
      await admin.disconnect();
    }
  }

  const outboxDrained = async () => (await harness.prisma.outboxEvent.count({ where: { publishedAt: null } })) === 0;

  /**
   * Renames `item` once more ("sentinel-<label>") and waits until each of `who` received it. One
   * item's events travel one partition and one stream in order, and a client reads its stream in
   * order: whatever could still arrive late (a duplicate of a replay, of a resume overlapping live
   * delivery) arrives before the sentinel. So once it is in, the counts are final; no fixed wait.
   */
  async function sentinel(label: string, who: readonly ResumingSubscriber[] = subscribers(), item = itemId): Promise<void> {
    const name = `sentinel-${label}`;
    const { version } = await harness.prisma.item.findUniqueOrThrow({ where: { id: item } });
    const result = await harness.gql(writerToken, UPDATE_ITEM, { input: { id: item, expectedVersion: version, name } });
    assert.equal(result.body.errors, undefined, JSON.stringify(result.body.errors));
    for (const one of who) {
      await waitFor(
        `${one.label} to receive ${name}`,
        () => one.events.some((event) => event.name === name),
        () => `endings ${JSON.stringify(one.endings)}`,
      );
    }
  }

  before(async () => {
    await rm(root, { recursive: true, force: true });
    await mkdir(root, { recursive: true });
    kafka = await KafkaBroker.onFreePorts(join(root, "kafka"));
    redisServer = new RedisProcess({ port: await freePort(), root });
    const redisPort = redisServer.port;
    // If this process ends without after() (a crash, a kill), take down what it started.
    process.once("exit", () => {
      redisServer.killNow();
      kafka.killNow();
    });
    // Redis starts with an fsync-always append-only file: scenario 4 kills it with SIGKILL and loses nothing.
    await redisServer.start("aof", "redis-aof");
    redis = new Redis({ host: "127.0.0.1", port: redisPort, maxRetriesPerRequest: 1, retryStrategy: (times) => Math.min(50 * times, 500) });
    redis.on("error", () => undefined);
    await redis.ping();
    // The broker's cold start (~15 s) overlaps the database and the stack.
    const [started] = await Promise.all([startHarness("faults", { itemsPerBoard: 3, redis, subscriptions: {}, logger: pino({ level: "warn" }) }), kafka.start()]);
    harness = started;
    pipeline = await startLivePipeline(harness, { brokers: kafka.brokers });

    const board = harness.seed.organizations[0].boards[0];
    itemId = board.itemIds[0] ?? "";
    writerToken = await harness.token(0, "OWNER");
    const readerToken = await harness.token(0, "MEMBER");
    const url = harness.stack.gateway.url;
    alice = new ResumingSubscriber("alice", url, readerToken, board.id, refetchItem(readerToken));
    bob = new ResumingSubscriber("bob", url, readerToken, board.id, refetchItem(readerToken));
    alice.start();
    bob.start();
    // Both subscriptions are live once each has received a rename made after they subscribed.
    const warm = writer("warm");
    await waitFor(
      "both subscribers live",
      () => alice.names("warm").length > 0 && bob.names("warm").length > 0,
      () => `sent ${warm.sent.length}`,
    );
    await warm.stop();
    await receivedAll(alice, "warm", warm.sent);
    await receivedAll(bob, "warm", warm.sent);
  });

  after(async () => {
    // Bring back whatever a failed scenario left stopped, so the pipeline can shut down.
    if (redisServer && !redisServer.running) await bounded("restart redis", () => redisServer.start("memory", "redis-cleanup"));
    if (kafka && !kafka.running && pipeline) await bounded("restart kafka", () => kafka.start(), 60_000);
    for (const subscriber of [alice, bob]) if (subscriber) await bounded(`stop ${subscriber.label}`, () => subscriber.stop());
    if (pipeline) await bounded("pipeline", () => pipeline.dispose());
    if (harness) await bounded("harness", () => harness.dispose(), 30_000);
    redis?.disconnect();
    if (redisServer) await bounded("redis-server", () => redisServer.dispose());
    if (kafka) await bounded("kafka broker", () => kafka.dispose(), 60_000);
    await rm(root, { recursive: true, force: true });
  });

  it("1. Kafka broker stopped and started mid-stream: mutations keep succeeding (outbox), the relay catches up; 0 lost, 0 duplicates", async (t) => {
    const w = writer("kafka");
    await w.sends(8);
    let mark = Date.now();
    await kafka.stop();
    const stopMs = Date.now() - mark;
    // Mutations only write the outbox: they succeed while the broker is down.
    const downFrom = w.sent.length;
    await w.sends(8);
    const downTo = w.sent.length;
    // The fault took hold: the outbox backs up and none of those renames reached anyone.
    const backlog = await harness.prisma.outboxEvent.count({ where: { publishedAt: null } });
    const outage = w.sent.slice(downFrom, downTo);
    const deliveredDuringOutage = subscribers().map((who) => who.names("kafka").filter((name) => outage.includes(name)).length);
    mark = Date.now();
    await kafka.start();
    const startMs = Date.now() - mark;
    mark = Date.now();
    for (const who of subscribers()) await receivedAll(who, "kafka", w.sent.slice(0, downTo));
    const catchUpMs = Date.now() - mark;
    await w.sends(8);
    const sent = await w.stop();
    for (const who of subscribers()) await receivedAll(who, "kafka", sent);
    await sentinel("kafka"); // late duplicates would show before it
    const counts = subscribers().map((who) => count(who.label, sent, who.names("kafka")));
    report(
      t,
      "1 kafka broker stop/start",
      counts,
      `renames made while the broker was down=${outage.length} (delivered before it came back: ${deliveredDuringOutage.join("/")}), outbox backlog at restart=${backlog}, stop.sh ${stopMs} ms, start.sh ${startMs} ms, backlog delivered ${catchUpMs} ms after start.sh returned, failed mutations=${w.failed.length}`,
    );
    assert.deepEqual(w.failed, [], "mutations do not need Kafka");
    assert.ok(backlog > 0, "the relay was held up while the broker was down");
    assert.deepEqual(deliveredDuringOutage, [0, 0]);
    for (const [i, who] of subscribers().entries()) assertExact(counts[i]!, sent, who.names("kafka"));
  });

  it("1b. Kafka broker killed (SIGKILL, unclean) mid-stream and started again: 0 lost, 0 duplicates", async (t) => {
    const w = writer("kafka-kill");
    await w.sends(6);
    await kafka.kill();
    const downFrom = w.sent.length;
    await w.sends(5);
    const outage = w.sent.slice(downFrom);
    const deliveredDuringOutage = subscribers().map((who) => who.names("kafka-kill").filter((name) => outage.includes(name)).length);
    let mark = Date.now();
    await kafka.start();
    const startMs = Date.now() - mark;
    mark = Date.now();
    for (const who of subscribers()) await receivedAll(who, "kafka-kill", w.sent.slice(0, downFrom + outage.length));
    const catchUpMs = Date.now() - mark;
    await w.sends(6);
    const sent = await w.stop();
    for (const who of subscribers()) await receivedAll(who, "kafka-kill", sent);
    await sentinel("kafka-kill");
    const counts = subscribers().map((who) => count(who.label, sent, who.names("kafka-kill")));
    report(
      t,
      "1b kafka broker SIGKILL/start",
      counts,
      `renames made while the broker was dead=${outage.length} (delivered before it came back: ${deliveredDuringOutage.join("/")}), start.sh ${startMs} ms, backlog delivered ${catchUpMs} ms after start.sh returned, failed mutations=${w.failed.length}`,
    );
    assert.deepEqual(w.failed, []);
    assert.deepEqual(deliveredDuringOutage, [0, 0]);
    for (const [i, who] of subscribers().entries()) assertExact(counts[i]!, sent, who.names("kafka-kill"));
  });

  it("2. relay and bridge restarted mid-stream (stop + start, the bridge resumes from its committed offsets): 0 lost, 0 duplicates", async (t) => {
    const w = writer("restart");
    await w.sends(6);
    await pipeline.restartRelay();
    await w.sends(6);
    await pipeline.restartBridge();
    await w.sends(6);
    await pipeline.restartRelay();
    await pipeline.restartBridge();
    await w.sends(6);
    const sent = await w.stop();
    for (const who of subscribers()) await receivedAll(who, "restart", sent);
    await sentinel("restart");
    const counts = subscribers().map((who) => count(who.label, sent, who.names("restart")));
    report(t, "2 relay + bridge restart", counts, `failed mutations=${w.failed.length}`);
    assert.deepEqual(w.failed, []);
    for (const [i, who] of subscribers().entries()) assertExact(counts[i]!, sent, who.names("restart"));
  });

  it("3. relay and bridge crash replays (published-not-marked rows republished; appended-not-committed offsets replayed): duplicates in Kafka, 0 at the client", async (t) => {
    const w = writer("replay");
    await w.sends(8);
    // What a relay killed between publish and mark-sent leaves: published rows still unsent. They are
    // published again (Kafka now holds those events twice).
    const unmarked = await harness.prisma.$executeRaw`
      UPDATE events."OutboxEvent" SET "publishedAt" = NULL
      WHERE id IN (SELECT id FROM events."OutboxEvent" WHERE "aggregateId" = ${itemId}::uuid AND "publishedAt" IS NOT NULL ORDER BY sequence DESC LIMIT 6)`;
    await pipeline.relay.drain();
    await w.sends(6);
    // What a bridge killed between the Redis append and the offset commit leaves: a committed offset
    // behind what Redis has. The next bridge of the group replays from there.
    await pipeline.bridge.dispose();
    const admin = pipeline.kafka.admin();
    await admin.connect();
    const [committed] = await admin.fetchOffsets({ groupId: pipeline.bridgeGroupId, topics: [ITEM_TOPIC] });
    const consumed = (committed?.partitions ?? []).filter((p) => Number(p.offset) > 0);
    const rewound = consumed.map((p) => ({ partition: p.partition, offset: String(Math.max(0, Number(p.offset) - 6)) }));
    const replayed = consumed.reduce((sum, p) => sum + Math.min(6, Number(p.offset)), 0);
    await admin.setOffsets({ groupId: pipeline.bridgeGroupId, topic: ITEM_TOPIC, partitions: rewound });
    await admin.disconnect();
    const silent = pino({ level: "silent" });
    pipeline.bridge = await startBridge({
      kafka: pipeline.kafka,
      redis: harness.redis,
      check: parseEventMessage,
      logger: silent,
      groupId: pipeline.bridgeGroupId,
      fromBeginning: false,
      keyPrefix: harness.redisPrefix,
    });
    await pipeline.bridge.ready;
    await w.sends(6);
    const sent = await w.stop();
    for (const who of subscribers()) await receivedAll(who, "replay", sent);
    // The replays are over only when the outbox is drained and the bridge has committed the topic's end.
    await waitFor("outbox drained and bridge caught up", async () => (await outboxDrained()) && (await bridgeCaughtUp()));
    await sentinel("replay");
    const counts = subscribers().map((who) => count(who.label, sent, who.names("replay")));
    report(t, "3 relay/bridge crash replays", counts, `outbox rows republished=${unmarked}, kafka messages replayed by the bridge=${replayed}`);
    assert.ok(unmarked > 0 && replayed > 0, "the replays happened");
    assert.deepEqual(w.failed, []);
    for (const [i, who] of subscribers().entries()) assertExact(counts[i]!, sent, who.names("replay"));
  });

  it("4. Redis with an fsync-always AOF killed (SIGKILL) and restarted mid-stream: 0 lost, 0 duplicates, for the connected client and for one that drops, retries during the outage and resumes with its cursor", async (t) => {
    const w = writer("redis-aof");
    await w.sends(6);
    bob.goOffline();
    const bobCursor = bob.cursor;
    await w.sends(3);
    await redisServer.stop("SIGKILL");
    const downFrom = w.sent.length;
    await w.sends(3); // renames while Redis is down: the bridge retries its append until Redis is back
    // Bob comes back while Redis is still down: his attempts to resume fail until it is back.
    const endingsBefore = bob.endings.length;
    bob.goOnline();
    await waitFor(
      "bob to fail at least one resume during the outage",
      () => bob.endings.length > endingsBefore,
      () => JSON.stringify(bob.endings),
    );
    await w.sends(3);
    const outage = w.sent.slice(downFrom);
    const deliveredDuringOutage = alice.names("redis-aof").filter((name) => outage.includes(name)).length;
    const failedResumes = bob.endings.slice(endingsBefore);
    await redisServer.start("aof", "redis-aof");
    await w.sends(6);
    const sent = await w.stop();
    for (const who of subscribers()) await receivedAll(who, "redis-aof", sent);
    await sentinel("redis-aof");
    const counts = subscribers().map((who) => count(who.label, sent, who.names("redis-aof")));
    report(
      t,
      "4 redis SIGKILL + restart (AOF, fsync always)",
      counts,
      `renames made while Redis was down=${outage.length} (delivered to alice before it came back: ${deliveredDuringOutage}); bob dropped at cursor ${bobCursor}, resume attempts that failed during the outage: ${JSON.stringify(failedResumes)}, CURSOR_EXPIRED seen=${bob.expired}; failed mutations=${w.failed.length}`,
    );
    assert.equal(deliveredDuringOutage, 0);
    // Refused as retryable, the socket kept (it used to be closed with 4500 Internal error).
    assert.ok(failedResumes.length > 0 && failedResumes.every((ending) => ending === "SUBSCRIPTION_UNAVAILABLE"), JSON.stringify(failedResumes));
    assert.equal(bob.expired, 0, "a persisted stream keeps every cursor valid");
    assert.deepEqual(w.failed, [], "mutations do not need Redis (rate limits fail open)");
    for (const [i, who] of subscribers().entries()) assertExact(counts[i]!, sent, who.names("redis-aof"));
  });

  it(`4b. Redis down ${LONG_OUTAGE_MS / 1000} s, longer than the bridge's Kafka session (${BRIDGE_SESSION_MS / 1000} s), while renames go on: the same bridge (never restarted) keeps its group membership, says it is not ready meanwhile, and delivers every event exactly once when Redis is back`, async (t) => {
    // The bridge as events/main.ts runs it (its own Redis client, whose commands wait through an
    // outage), with a shorter session than production's 10 s so the outage can be 2x longer in
    // half the time. It used to wait on the append without heartbeats: dropped from the group,
    // its commit refused, kafkajs gave the consumer up and live events stopped for good.
    const bridgeClient = bridgeRedis(`redis://127.0.0.1:${redisServer.port}`);
    await pipeline.bridge.dispose();
    const bridge: Bridge = await startBridge({
      kafka: pipeline.kafka,
      redis: bridgeClient,
      check: parseEventMessage,
      logger: pino({ level: "silent" }),
      groupId: pipeline.bridgeGroupId,
      fromBeginning: false,
      keyPrefix: harness.redisPrefix,
      sessionTimeoutMs: BRIDGE_SESSION_MS,
      stalledAfterMs: 1_000,
    });
    pipeline.bridge = bridge;
    const w = writer("redis-long");
    try {
      await bridge.ready;
      await w.sends(4);
      for (const who of subscribers()) await receivedAll(who, "redis-long", w.sent);
      const memberBefore = await bridgeMembers();
      const readyBefore = bridge.health();
      await redisServer.stop("SIGKILL");
      const downAt = Date.now();
      const downFrom = w.sent.length;
      await waitFor(
        "the bridge to say it is not ready",
        () => !bridge.health().ready,
        () => JSON.stringify(bridge.health()),
      );
      const notReady = bridge.health();
      // The outage itself (the fault under test, not a wait for something): renames go on meanwhile.
      await sleep(Math.max(0, LONG_OUTAGE_MS - (Date.now() - downAt)));
      const outage = w.sent.slice(downFrom);
      const deliveredDuringOutage = subscribers().map((who) => who.names("redis-long").filter((name) => outage.includes(name)).length);
      const membersDuringOutage = await bridgeMembers();
      const outageMs = Date.now() - downAt;
      await redisServer.start("aof", "redis-aof");
      const mark = Date.now();
      for (const who of subscribers()) await receivedAll(who, "redis-long", w.sent.slice(0, downFrom + outage.length));
      const catchUpMs = Date.now() - mark;
      await w.sends(6);
      const sent = await w.stop();
      for (const who of subscribers()) await receivedAll(who, "redis-long", sent);
      await sentinel("redis-long");
      await waitFor(
        "the bridge to be ready again",
        () => bridge.health().ready,
        () => JSON.stringify(bridge.health()),
      );
      const counts = subscribers().map((who) => count(who.label, sent, who.names("redis-long")));
      report(
        t,
        "4b redis down longer than the kafka session",
        counts,
        `outage ${outageMs} ms (session ${BRIDGE_SESSION_MS} ms), renames made meanwhile=${outage.length} (delivered before Redis came back: ${deliveredDuringOutage.join("/")}), backlog delivered ${catchUpMs} ms after Redis answered; bridge readiness during the outage: ${JSON.stringify(notReady.reason)}; consumer rebuilds=${String(bridge.health().details?.rebuilds)}; group members before/during/after: ${memberBefore.join(",")} / ${membersDuringOutage.join(",")} / ${(await bridgeMembers()).join(",")}`,
      );
      assert.equal(readyBefore.ready, true);
      assert.equal(notReady.ready, false, "readiness says the bridge cannot append");
      assert.ok(outageMs > BRIDGE_SESSION_MS * 1.5, `the outage (${outageMs} ms) is clearly longer than the session (${BRIDGE_SESSION_MS} ms)`);
      assert.ok(outage.length > 0);
      assert.deepEqual(deliveredDuringOutage, [0, 0]);
      assert.deepEqual(w.failed, [], "mutations do not need Redis");
      // The member heartbeated through the outage: the same one, never dropped, nothing rebuilt.
      assert.equal(memberBefore.length, 1);
      assert.deepEqual(membersDuringOutage, memberBefore);
      assert.deepEqual(await bridgeMembers(), memberBefore);
      assert.equal(bridge.health().details?.rebuilds, 0);
      for (const [i, who] of subscribers().entries()) assertExact(counts[i]!, sent, who.names("redis-long"));
    } finally {
      await w.stop();
      // Back to the pipeline's usual bridge (on the shared client) for the scenarios after this one.
      if (!redisServer.running) await redisServer.start("aof", "redis-aof");
      await pipeline.restartBridge();
      bridgeClient.disconnect();
    }
  });

  it("5. Redis without persistence restarted: every connected or resuming client is told CURSOR_EXPIRED (never a silent gap), refetches, then gets every later event exactly once", async (t) => {
    // What "0 lost" means here. Redis keeps nothing on disk, so its streams (and cursors) are gone
    // after a restart, and with them any event it held that the gateway had not read yet. The
    // gateway cannot know whether there was one, so after reconnecting it checks that the entry
    // each followed stream was last read at is still there; it is not, and every subscriber of the
    // stream is told CURSOR_EXPIRED: it refetches and subscribes afresh. So a client never misses
    // an event without being told, and from each new subscription on it misses nothing and gets
    // nothing twice. A client offline across the restart is told the same when it resumes.
    const w = writer("redis-mem");
    await w.pause();
    const expiredBefore = subscribers().map((who) => who.expired);
    // Switch to a Redis without persistence: the streams go, the connected clients are told.
    await redisServer.stop("SIGTERM");
    await redisServer.start("memory", "redis-memory");
    w.resume();
    await w.sends(6);
    bob.goOffline();
    await redisServer.stop("SIGTERM");
    const downFrom = w.sent.length;
    await w.sends(6); // while Redis is down
    const outage = w.sent.slice(downFrom);
    const deliveredDuringOutage = alice.names("redis-mem").filter((name) => outage.includes(name)).length;
    await redisServer.start("memory", "redis-memory");
    await w.sends(4);
    bob.goOnline(); // resumes with a cursor of the lost stream: CURSOR_EXPIRED, then afresh
    await w.sends(6);
    const sent = await w.stop();
    for (const who of subscribers()) {
      await waitFor(
        `${who.label} to reach the last rename`,
        () => who.names("redis-mem").at(-1) === sent.at(-1),
        () => `${JSON.stringify(who.names("redis-mem"))}; endings ${JSON.stringify(who.endings)}`,
      );
    }
    await sentinel("redis-mem");
    const counts = subscribers().map((who) => count(who.label, sent, who.names("redis-mem")));
    const told = subscribers().map((who, i) => who.expired - (expiredBefore[i] ?? 0));
    report(
      t,
      "5 redis restart without persistence",
      counts,
      `renames made while Redis was down=${outage.length} (delivered before it came back: ${deliveredDuringOutage}); CURSOR_EXPIRED told: alice ${told[0]}, bob ${told[1]}; "lost" = renames between a CURSOR_EXPIRED and the new subscription, covered by the refetch`,
    );
    assert.deepEqual(w.failed, []);
    assert.equal(deliveredDuringOutage, 0);
    for (const [i, who] of subscribers().entries()) {
      assert.ok((told[i] ?? 0) >= 1, `${who.label} is told the streams were lost: ${JSON.stringify(who.endings)}`);
      assert.equal(counts[i]?.duplicates, 0);
      assertNoSilentGap(who, "redis-mem", sent);
    }
    assert.ok(bob.refetched !== null, "bob refetched after CURSOR_EXPIRED");
  });

  it("6. a subscription attempted while Redis is down (refused, retried) gets live events once Redis is back; a socket that stays away leaves no stream followed", async (t) => {
    // A board nobody follows yet, so its stream is first watched during the outage.
    const board = harness.seed.organizations[0].boards[1];
    const otherItem = board.itemIds[0] ?? "";
    const ownerToken = await harness.token(0, "OWNER");
    await redisServer.stop("SIGTERM");
    const carol = new ResumingSubscriber("carol", harness.stack.gateway.url, ownerToken, board.id, refetchItem(ownerToken));
    carol.start();
    // Dave is of the other organisation, which nobody on this gateway follows: his socket itself is refused.
    const globex = harness.seed.organizations[1];
    const globexToken = await harness.token(1, "OWNER");
    const dave = new ResumingSubscriber("dave", harness.stack.gateway.url, globexToken, globex.boards[0].id, refetchItem(globexToken));
    dave.start();
    const subscribedTo = async (channel: string) => ((await redis.call("PUBSUB", "CHANNELS", channel)) as string[]).length > 0;
    try {
      await waitFor(
        "carol refused twice while Redis is down",
        () => carol.endings.length >= 2,
        () => JSON.stringify(carol.endings),
      );
      await waitFor(
        "dave refused while Redis is down",
        () => dave.endings.length >= 1,
        () => JSON.stringify(dave.endings),
      );
      const refused = [...carol.endings];
      const daveRefused = [...dave.endings];
      await redisServer.start("memory", "redis-memory");
      const w = new Writer(harness, writerToken, otherItem, "late").start();
      // Fresh subscription (no cursor yet): it sees what is renamed once it is live, which it must become.
      await waitFor(
        "carol to receive live events after Redis is back",
        () => carol.names("late").length > 0,
        () => `sent ${w.sent.length}; carol endings ${JSON.stringify(carol.endings)}`,
        20_000,
      );
      await w.sends(5);
      const sent = await w.stop();
      await waitFor(
        "carol to reach the last rename",
        () => carol.names("late").at(-1) === sent.at(-1),
        () => JSON.stringify(carol.names("late")),
      );
      await sentinel("late", [carol], otherItem);
      const got = carol.names("late");
      const expected = sent.slice(sent.indexOf(got[0] ?? ""));
      const counts = count("carol", expected, got);
      report(
        t,
        "6 subscribe during a Redis outage",
        [counts],
        `carol refused during the outage: ${JSON.stringify(refused)}, dave: ${JSON.stringify(daveRefused.slice(0, 3))}; renames before carol's subscription was live: ${sent.length - expected.length}`,
      );
      assert.ok(
        refused.every((ending) => ending === "SUBSCRIPTION_UNAVAILABLE" || ending.startsWith("closed 1013")),
        JSON.stringify(refused),
      );
      assert.ok(
        daveRefused.every((ending) => ending.startsWith("closed 1013")),
        JSON.stringify(daveRefused),
      );
      assertExact(counts, expected, got);
      // Dave gets in once Redis is back; when he leaves, nothing of his organisation stays followed.
      const globexWakes = [streamsOf(harness.redisPrefix).org(globex.id).wake, streamsOf(harness.redisPrefix).board(globex.id, globex.boards[0].id).wake];
      await waitFor(
        "dave connected and subscribed",
        async () => (await subscribedTo(globexWakes[0]!)) && (await subscribedTo(globexWakes[1]!)),
        () => JSON.stringify(dave.endings),
      );
      await dave.stop();
      await waitFor(
        "dave's organisation and board no longer followed",
        async () => !(await subscribedTo(globexWakes[0]!)) && !(await subscribedTo(globexWakes[1]!)),
        () => globexWakes.join(", "),
        10_000,
      );
      // Once carol is gone nobody on this gateway follows the board: its wake channel is released
      // (a subscription refused during the outage must not leave a watch behind).
      await carol.stop();
      const wake = streamsOf(harness.redisPrefix).board(harness.seed.organizations[0].id, board.id).wake;
      await waitFor(
        "the board's wake channel to be unsubscribed",
        async () => ((await redis.call("PUBSUB", "CHANNELS", wake)) as string[]).length === 0,
        () => wake,
        10_000,
      );
    } finally {
      await carol.stop();
      await dave.stop();
    }
  });
});
