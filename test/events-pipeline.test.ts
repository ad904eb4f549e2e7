import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { connect as netConnect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import type { Consumer, Kafka, KafkaMessage } from "kafkajs";
import { pino } from "pino";
import { preflight } from "./support/preflight.ts";
import { createIdempotentProducer, createKafka, DEAD_LETTER_TOPIC, ensureTopics, type DeadLetter } from "../events/kafka.ts";
import { kafkaPublisher } from "../events/publisher.ts";
import { startOutboxRelay, type OutboxRelay } from "../events/relay/outbox-relay.ts";
import { startBridge, type Bridge, type EventCheck } from "../events/bridge/bridge.ts";
import { streamKeys } from "../events/streams/names.ts";
import { parseEventMessage, validateEvent } from "../events/contracts/registry.ts";
import { startHarness, type Harness } from "./support/harness.ts";
import { waitFor } from "./support/wait.ts";

const logger = pino({ level: "silent" });

/** Reads a topic from the start with a fresh group, collecting messages until `done` says so. */
/**
 * Reads `topic` in a group of its own until `done`. From `since` (a partition's next offset, as
 * `topicEnds` gave it before the action) when given: the machine's broker keeps what every earlier
 * run and benchmark published, and reading all of it can take longer than the deadline.
 */
async function collect(kafka: Kafka, topic: string, done: (messages: KafkaMessage[]) => boolean, since?: ReadonlyMap<number, string>, timeoutMs = 30_000): Promise<KafkaMessage[]> {
  const consumer: Consumer = kafka.consumer({ groupId: `test-collect-${randomUUID()}` });
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: since === undefined });
  const finished = Promise.withResolvers<void>();
  const timer = setTimeout(() => finished.reject(new Error(`timed out reading ${topic}: ${messages.length} messages`)), timeoutMs);
  try {
    await consumer.run({
      eachMessage: async ({ message }) => {
        messages.push(message);
        if (done(messages)) finished.resolve();
      },
    });
    for (const [partition, offset] of since ?? []) consumer.seek({ topic, partition, offset });
    await finished.promise;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
  return messages;
}

/** Each partition's next offset now: where `collect` starts to read what an action is about to publish. */
async function topicEnds(kafka: Kafka, topic: string): Promise<Map<number, string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((end) => [end.partition, end.high]));
  } finally {
    await admin.disconnect();
  }
}

const eventIdOf = (message: KafkaMessage) => message.headers?.eventId?.toString() ?? "";

/** waitFor with this suite's deadline: 15 s. */
const until = (what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> => waitFor(what, condition, undefined, timeoutMs);

/**
 * A TCP proxy in front of Postgres that can be cut (every connection reset, new ones refused, as
 * when the database host goes away) and restored on the same port: the relay's outage, with the
 * real Postgres the rest of the suite keeps using.
 */
async function cuttableProxy(target: { host: string; port: number }): Promise<{ port: number; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let server: Server;
  let port = 0;
  const listen = async () => {
    server = createServer((inbound) => {
      const outbound = netConnect(target.port, target.host);
      for (const [a, b] of [
        [inbound, outbound],
        [outbound, inbound],
      ] as const) {
        sockets.add(a);
        a.on("error", () => b.destroy());
        a.on("close", () => {
          sockets.delete(a);
          b.destroy();
        });
        a.pipe(b);
      }
    });
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  };
  const cut = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.resetAndDestroy();
    await closed;
  };
  await listen();
  return { port, cut, restore: listen, close: cut };
}

type Organization = Harness["seed"]["organizations"][number];

/** An outbox row of a comment.added event (a valid envelope), as the items subgraph writes them. */
function commentRow(organization: Organization, aggregateId: string, version: number, correlationId = "outage-test-001") {
  const eventId = randomUUID();
  const board = organization.boards[0];
  return {
    id: eventId,
    organizationId: organization.id,
    topic: "collaboration-events",
    eventType: "comment.added",
    aggregateType: "Comment",
    aggregateId,
    aggregateVersion: version,
    envelope: {
      eventId,
      eventType: "comment.added",
      schemaVersion: 1,
      aggregateId,
      aggregateType: "Comment",
      version,
      data: { boardId: board.id, itemId: board.itemIds[0] ?? "", commentId: aggregateId, authorId: organization.userIdsByRole.OWNER, body: `#${version}` },
      metadata: { correlationId, userId: organization.userIdsByRole.OWNER, organizationId: organization.id, timestamp: new Date().toISOString(), source: "items" },
    },
  };
}

describe("event pipeline: outbox -> Kafka -> Redis", () => {
  let harness: Harness;
  let kafka: Kafka;
  const relays: OutboxRelay[] = [];
  let bridge: Bridge;

  before(async () => {
    await preflight("kafka");
    harness = await startHarness("pipeline", { itemsPerBoard: 3 });
    kafka = createKafka("sunday-test");
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin);
    await admin.disconnect();
  });
  after(async () => {
    await bridge?.dispose();
    for (const relay of relays) await relay.dispose();
    await harness?.dispose();
  });

  async function relay(): Promise<OutboxRelay> {
    const producer = createIdempotentProducer(kafka);
    await producer.connect();
    const started = await startOutboxRelay({
      databaseUrl: harness.databaseUrl,
      publisher: kafkaPublisher(producer),
      check: validateEvent,
      logger,
    });
    relays.push({
      drain: started.drain,
      health: started.health,
      backlog: started.backlog,
      dispose: async () => {
        await started.dispose();
        await producer.disconnect();
      },
    });
    return started;
  }

  it("publishes a mutation's event to its topic, marks it sent, and the bridge appends it to the board stream", async () => {
    bridge = await startBridge({ kafka, redis: harness.redis, check: parseEventMessage, logger, groupId: `test-bridge-${randomUUID()}`, fromBeginning: false });
    await bridge.ready;
    const acme = harness.seed.organizations[0];
    const board = acme.boards[0];
    const wake = harness.redis.duplicate();
    const woken: string[] = [];
    await wake.subscribe(streamKeys.boardWake(acme.id, board.id));
    wake.on("message", (_channel, id: string) => woken.push(id));

    const since = await topicEnds(kafka, "item-events");
    const result = await harness.gql(await harness.token(0, "MEMBER"), `mutation ($b: ID!, $g: ID!) { createItem(input: { boardId: $b, groupId: $g, name: "Piped" }) { id } }`, {
      b: board.id,
      g: board.groupIds[0],
    });
    assert.equal(result.body.errors, undefined, JSON.stringify(result.body.errors));
    const row = await harness.prisma.outboxEvent.findFirstOrThrow({ where: { eventType: "project.item.created" }, orderBy: { sequence: "desc" } });
    // A drain started after the row was written: once it resolves, the row is published and marked sent.
    await (await relay()).drain();

    const published = await collect(kafka, "item-events", (messages) => messages.some((message) => eventIdOf(message) === row.id), since);
    const message = published.find((candidate) => eventIdOf(candidate) === row.id);
    assert.equal(message?.key?.toString(), row.aggregateId, "keyed by aggregate id");
    assert.ok(validateEvent(JSON.parse(message?.value?.toString() ?? "null")).ok);
    assert.ok((await harness.prisma.outboxEvent.findUniqueOrThrow({ where: { id: row.id } })).publishedAt, "marked sent");

    // The bridge publishes a wake-up after each append: look again at each one until this event is in.
    const mineIn = async () => (await harness.redis.xrange(streamKeys.board(acme.id, board.id), "-", "+")).filter(([, fields]) => fields.join("").includes(row.id));
    let mine: Awaited<ReturnType<typeof mineIn>> = [];
    for (;;) {
      const wakeUps = woken.length;
      mine = await mineIn();
      if (mine.length > 0) break;
      // A wake-up that came while reading is already counted: read again at once, else wait for the next.
      if (woken.length === wakeUps) await once(wake, "message", { signal: AbortSignal.timeout(15_000) });
    }
    assert.equal(mine.length, 1, "appended once to the board stream");
    assert.ok(woken.includes(mine[0]?.[0] ?? ""), "a wake-up named the new entry");
    const orgEntries = await harness.redis.xrange(streamKeys.org(acme.id), "-", "+");
    assert.equal(orgEntries.filter(([, fields]) => fields.join("").includes(row.id)).length, 1, "and to the organisation stream");
    await wake.quit();
  });

  it("with two relays draining at once, publishes every event exactly once and in order per aggregate", async () => {
    const acme = harness.seed.organizations[0];
    const aggregates = Array.from({ length: 8 }, () => randomUUID());
    const rows = Array.from({ length: 160 }, (_, index) => {
      const aggregateId = aggregates[index % aggregates.length] ?? "";
      const version = Math.floor(index / aggregates.length) + 1;
      return commentRow(acme, aggregateId, version, "order-test-0001");
    });
    await harness.prisma.outboxEvent.createMany({ data: rows });
    const [first, second] = [relays[0] ?? (await relay()), await relay()];
    await Promise.all([first.drain(), second.drain()]);
    const ids = new Set<string>(rows.map((row) => row.id));
    const messages = await collect(kafka, "collaboration-events", (all) => all.filter((message) => ids.has(eventIdOf(message))).length >= rows.length);
    // Give a duplicate, if any, time to arrive.
    const mine = messages.filter((message) => ids.has(eventIdOf(message)));
    assert.equal(new Set(mine.map(eventIdOf)).size, rows.length);
    assert.equal(mine.length, rows.length, "no event published twice");
    const lastVersion = new Map<string, number>();
    for (const message of mine) {
      const event = JSON.parse(message.value?.toString() ?? "{}") as { aggregateId: string; version: number };
      assert.ok((lastVersion.get(event.aggregateId) ?? 0) < event.version, `aggregate ${event.aggregateId} out of order`);
      lastVersion.set(event.aggregateId, event.version);
    }
    assert.equal(await harness.prisma.outboxEvent.count({ where: { id: { in: [...ids] }, publishedAt: null } }), 0);
  });

  it("sends an outbox event that breaks its contract to the dead-letter topic, with the reason", async () => {
    const acme = harness.seed.organizations[0];
    const eventId = randomUUID();
    const aggregateId = randomUUID();
    const envelope = { eventId, eventType: "project.item.created", note: "no metadata, no data" };
    const refusedFrom = Date.now();
    await harness.prisma.outboxEvent.create({
      data: {
        id: eventId,
        organizationId: acme.id,
        topic: "item-events",
        eventType: "project.item.created",
        aggregateType: "Item",
        aggregateId,
        aggregateVersion: 1,
        envelope,
      },
    });
    await (relays[0] ?? (await relay())).drain();
    const dead = await collect(kafka, DEAD_LETTER_TOPIC, (messages) => messages.some((message) => eventIdOf(message) === eventId));
    const letter = dead.find((message) => eventIdOf(message) === eventId);
    const record = JSON.parse(letter?.value?.toString() ?? "{}") as DeadLetter;
    assert.match(record.reason, /invalid envelope/);
    assert.ok(record.original.includes(eventId), "the original is kept");
    // The dead letter names the refused event and says why, precisely.
    assert.equal(record.reason, "invalid envelope");
    assert.deepEqual(JSON.parse(record.original), envelope, "the original, byte for byte as the outbox held it");
    assert.equal(record.source, "outbox:item-events");
    for (const missing of ["schemaVersion", "aggregateId", "aggregateType", "version", "data", "metadata"]) {
      assert.ok(record.errors.includes(`(root) is missing required property "${missing}"`), `${missing}: ${JSON.stringify(record.errors)}`);
    }
    assert.ok(record.errors.includes('(root) has unknown property "note"'), JSON.stringify(record.errors));
    const refusedAt = Date.parse(record.refusedAt);
    assert.ok(refusedAt >= refusedFrom - 1_000 && refusedAt <= Date.now(), `refusedAt ${record.refusedAt}`);
    assert.equal(letter?.key?.toString(), aggregateId, "keyed by the aggregate, like the event would have been");
    assert.deepEqual(Object.fromEntries(Object.entries(letter?.headers ?? {}).map(([name, value]) => [name, value?.toString()])), {
      eventId,
      eventType: "project.item.created",
      schemaVersion: "1",
      reason: "invalid envelope",
    });
    assert.notEqual((await harness.prisma.outboxEvent.findUniqueOrThrow({ where: { id: eventId } })).publishedAt, null, "the refused row is marked sent (not retried)");
  });

  it("drops a duplicate Kafka message by event id, and dead-letters garbage without blocking the partition", async () => {
    const acme = harness.seed.organizations[0];
    const board = acme.boards[1];
    const producer = createIdempotentProducer(kafka);
    await producer.connect();
    const eventId = randomUUID();
    const commentId = randomUUID();
    const envelope = {
      eventId,
      eventType: "comment.added",
      schemaVersion: 1,
      aggregateId: commentId,
      aggregateType: "Comment",
      version: 1,
      data: { boardId: board.id, itemId: board.itemIds[0] ?? "", commentId, authorId: acme.userIdsByRole.OWNER, body: "twice" },
      metadata: { correlationId: "dup-test-00001", userId: acme.userIdsByRole.OWNER, organizationId: acme.id, timestamp: new Date().toISOString(), source: "items" },
    };
    const garbageKey = randomUUID();
    // A later event of the same aggregate: same key, same partition, read after the other three.
    // Once it is in the stream, the bridge has handled the duplicate before it (no fixed wait).
    const sentinelId = randomUUID();
    const sentinel = { ...envelope, eventId: sentinelId, version: 2, data: { ...envelope.data, body: "sentinel" } };
    await producer.send({
      topic: "collaboration-events",
      acks: -1,
      messages: [
        { key: commentId, value: JSON.stringify(envelope), headers: { eventId } },
        { key: commentId, value: "{ not json", headers: { eventId: garbageKey } },
        { key: commentId, value: JSON.stringify(envelope), headers: { eventId } },
        { key: commentId, value: JSON.stringify(sentinel), headers: { eventId: sentinelId } },
      ],
    });
    await producer.disconnect();
    const inStream = async (id: string) => (await harness.redis.xrange(streamKeys.board(acme.id, board.id), "-", "+")).filter(([, fields]) => fields.join("").includes(id)).length;
    await until("the sentinel event in the board stream", async () => (await inStream(sentinelId)) > 0);
    // This run's garbage: its key is this run's comment id (earlier runs left theirs in the topic too).
    const ours = (message: KafkaMessage) => message.key?.toString() === commentId && (message.value?.toString().includes("{ not json") ?? false);
    const dead = await collect(kafka, DEAD_LETTER_TOPIC, (messages) => messages.some(ours));
    assert.ok(dead.length > 0);
    const garbage = dead.find(ours);
    const letter = JSON.parse(garbage?.value?.toString() ?? "{}") as DeadLetter;
    assert.equal(letter.original, "{ not json", "the refused bytes as they were");
    assert.equal(letter.reason, "not JSON");
    assert.equal(letter.source, "kafka:collaboration-events");
    assert.equal(letter.errors.length, 1);
    assert.match(letter.errors[0] ?? "", /\(value starts "\{ not json"\)$/);
    assert.deepEqual(Object.fromEntries(Object.entries(garbage?.headers ?? {}).map(([name, value]) => [name, value?.toString()])), { reason: "not JSON", sourceTopic: "collaboration-events" });
    const count = await inStream(eventId);
    assert.equal(count, 1, "the duplicate was dropped");
  });

  it("after Postgres was unreachable for longer than its timeouts, the relay reconnects by itself (LISTEN too), says it is not ready meanwhile, and publishes every event once", async () => {
    // This relay alone: the others of this file reach Postgres directly and would relay its backlog.
    for (const running of relays.splice(0)) await running.dispose();
    const acme = harness.seed.organizations[0];
    const database = new URL(harness.databaseUrl);
    const proxy = await cuttableProxy({ host: database.hostname, port: Number(database.port || 5432) });
    const viaProxy = new URL(harness.databaseUrl);
    viaProxy.hostname = "127.0.0.1";
    viaProxy.port = String(proxy.port);
    const producer = createIdempotentProducer(kafka);
    await producer.connect();
    // No polling to speak of: only LISTEN (and the relay's own retries) can bring the events through.
    const outageRelay = await startOutboxRelay({
      databaseUrl: viaProxy.toString(),
      publisher: kafkaPublisher(producer),
      check: validateEvent,
      logger,
      pollIntervalMs: 600_000,
      stalledAfterMs: 1_000,
    });
    const aggregateId = randomUUID();
    let version = 0;
    const write = async (count: number) => {
      const rows = Array.from({ length: count }, () => commentRow(acme, aggregateId, (version += 1)));
      await harness.prisma.outboxEvent.createMany({ data: rows });
      return rows.map((row) => row.id);
    };
    const published = async (ids: readonly string[]) => (await harness.prisma.outboxEvent.count({ where: { id: { in: [...ids] }, publishedAt: { not: null } } })) === ids.length;
    try {
      const before = await write(3);
      await until("the first events relayed through the proxy", () => published(before));
      assert.equal(outageRelay.health().ready, true);
      await proxy.cut();
      const downAt = Date.now();
      const during = await write(5);
      await until("the relay to say it is not ready", () => !outageRelay.health().ready);
      const notReady = outageRelay.health();
      // The outage itself (the fault under test): longer than the relay's 5 s connection timeout
      // and its longest LISTEN backoff, so every reconnect attempt meanwhile has failed.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 8_000 - (Date.now() - downAt))));
      assert.equal(await published(during), false, "nothing relayed while Postgres was away");
      await proxy.restore();
      await until("the backlog relayed after Postgres is back", () => published(during), 20_000);
      const after = await write(2);
      await until("a new event relayed promptly (LISTEN is back)", () => published(after), 10_000);
      await until("the relay ready again", () => outageRelay.health().ready);
      const ids = new Set<string>([...before, ...during, ...after]);
      const messages = await collect(kafka, "collaboration-events", (all) => all.filter((message) => ids.has(eventIdOf(message))).length >= ids.size);
      const mine = messages.filter((message) => ids.has(eventIdOf(message)));
      assert.match(notReady.reason ?? "", /Postgres/);
      assert.equal(mine.length, ids.size, "each event published once");
      assert.deepEqual(
        mine.map((message) => (JSON.parse(message.value?.toString() ?? "{}") as { version: number }).version),
        Array.from({ length: ids.size }, (_, index) => index + 1),
        "in order",
      );
    } finally {
      await outageRelay.dispose();
      await producer.disconnect();
      await proxy.close();
    }
  });

  it("a bridge frozen for longer than its Kafka session (a long GC pause) is dropped from its group, carries on with a new consumer by itself, and appends every event once", async () => {
    const acme = harness.seed.organizations[0];
    const board = acme.boards[0]; // where commentRow's events go
    const commentId = randomUUID();
    const [frozenEvent, laterEvent] = [1, 2].map((version) => commentRow(acme, commentId, version).envelope);
    // The whole process stops for 9 s while the bridge handles one message, as in a long GC pause:
    // no heartbeat can go out, the broker drops the member, and the commit after it is refused as
    // "not aware of this member". kafkajs does not restart a consumer after that error.
    let freezes = 0;
    const check: EventCheck = (value) => {
      const verdict = parseEventMessage(value);
      if (verdict.ok && verdict.event.eventId === frozenEvent?.eventId && freezes++ === 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 9_000);
      return verdict;
    };
    // This bridge alone: the first test's bridge (another group) would append the same events too.
    await bridge?.dispose();
    const frozenBridge = await startBridge({ kafka, redis: harness.redis, check, logger, groupId: `test-bridge-${randomUUID()}`, fromBeginning: false, sessionTimeoutMs: 6_000 });
    bridge = frozenBridge; // disposed by after()
    {
      await frozenBridge.ready;
      const producer = createIdempotentProducer(kafka);
      await producer.connect();
      await producer.send({
        topic: "collaboration-events",
        acks: -1,
        messages: [frozenEvent, laterEvent].map((envelope) => ({ key: commentId, value: JSON.stringify(envelope), headers: { eventId: envelope?.eventId ?? "" } })),
      });
      await producer.disconnect();
      const inStream = async (id: string) => (await harness.redis.xrange(streamKeys.board(acme.id, board.id), "-", "+")).filter(([, fields]) => fields.join("").includes(id)).length;
      await until("the event after the freeze in the board stream", async () => (await inStream(laterEvent?.eventId ?? "")) > 0, 45_000);
      assert.equal(freezes >= 1, true, "the bridge was frozen");
      assert.equal(await inStream(frozenEvent?.eventId ?? ""), 1, "the event handled during the freeze appended once");
      assert.equal(await inStream(laterEvent?.eventId ?? ""), 1);
      await until("the bridge ready again", () => frozenBridge.health().ready);
    }
  });
});
