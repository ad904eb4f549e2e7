// Redis Cluster (REDIS_CLUSTER=true): everything the gateway and the bridge keep in Redis, on a
// cluster of 3 masters and 3 replicas this test starts from the redis-server binary. The key cases
// of the live-subscription and REST suites run through the whole stack on it; then the master that
// holds an organisation's streams is SIGKILLed mid-stream: a replica takes over, the bridge's
// appends (acknowledged by a replica before their offsets are committed) are all there, and a
// subscriber is told CURSOR_EXPIRED only if its stream really lost an entry it was given.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import { createRateLimiter } from "../gateway/src/limits/rate-limit.ts";
import { createRedisIdempotencyStore } from "../gateway/src/rest/idempotency.ts";
import { redisPresenceStore, type PresenceChange } from "../gateway/src/subscriptions/presence-store.ts";
import { streamsOf } from "../events/streams/names.ts";
import { createRedisClient, type RedisClient } from "../platform/redis.ts";
import { redisNonceStore } from "../platform/redis-nonces.ts";
import { startHarness, type Harness } from "./support/harness.ts";
import { pipelineSettled, startLivePipeline, streamHead, subscribe, subscriptionOperation, wsClient, type LivePipeline, type Subscription } from "./support/live.ts";
import { startRedisCluster, type OwnRedisCluster } from "./support/redis-cluster.ts";
import { waitFor } from "./support/wait.ts";

const boardActivity = subscriptionOperation("BoardActivity");

/** The name a rename event (its envelope as JSON) set. */
const renamedTo = (envelope: string): string | undefined => (JSON.parse(envelope) as { data?: { changes?: { name?: { to?: string } } } }).data?.changes?.name?.to;

interface Delivered {
  readonly cursor: string;
  readonly itemId: string;
  readonly name: string;
}

describe("Redis Cluster: 3 masters + 3 replicas under the gateway and the bridge", () => {
  let cluster: OwnRedisCluster;
  let redis: RedisClient;
  let harness: Harness;
  let pipeline: LivePipeline;
  const sockets: { dispose(): void | Promise<void> }[] = [];
  const acme = () => harness.seed.organizations[0];
  const board = () => acme().boards[0];
  const version = async (itemId: string) => (await harness.prisma.item.findUniqueOrThrow({ where: { id: itemId } })).version;
  async function rename(itemId: string, name: string): Promise<void> {
    const result = await harness.gql(await harness.token(0, "OWNER"), `mutation($input: UpdateItemInput!) { updateItem(input: $input) { id } }`, {
      input: { id: itemId, expectedVersion: await version(itemId), name },
    });
    assert.equal(result.body.errors, undefined, JSON.stringify(result.body.errors));
  }
  const deliveredOf = (live: Subscription): Delivered[] =>
    live.results.flatMap((result) => {
      // The name the event set (the item itself is read when it is delivered: it may be newer).
      const event = (result as { data?: { boardActivity?: { cursor: string; itemId: string; data?: { changes?: { name?: { to?: string } } } } } }).data?.boardActivity;
      return event ? [{ cursor: event.cursor, itemId: event.itemId, name: event.data?.changes?.name?.to ?? "" }] : [];
    });

  before(async () => {
    cluster = await startRedisCluster();
    // As serve.ts builds it from REDIS_URL + REDIS_CLUSTER=true.
    redis = createRedisClient({ url: cluster.url, cluster: true }, { maxRetriesPerRequest: 20 });
    harness = await startHarness("rediscluster", { redis, itemsPerBoard: 5, subscriptions: {} });
    pipeline = await startLivePipeline(harness, { waitReplicas: 1 });
    await rename(board().itemIds[4] ?? "", "Warm-up");
  });
  after(async () => {
    for (const socket of sockets) await socket.dispose();
    await pipeline?.dispose();
    await harness?.dispose();
    redis?.disconnect();
    await cluster?.dispose();
  });

  it("keeps an organisation's streams, wake-ups and seen-markers in one slot (the bridge's script needs it)", async () => {
    const streams = streamsOf(harness.redisPrefix);
    const keys = [streams.org(acme().id).key, streams.org(acme().id).wake, streams.board(acme().id, board().id).key, streams.board(acme().id, board().id).wake];
    await pipelineSettled(harness);
    const slots = await Promise.all(keys.map((key) => redis.call("CLUSTER", "KEYSLOT", key)));
    assert.equal(new Set(slots).size, 1, JSON.stringify(Object.fromEntries(keys.map((key, index) => [key, slots[index]]))));
    assert.ok((await redis.xlen(streams.org(acme().id).key)) >= 1, "the warm-up rename is in the organisation's stream");
  });

  it("rate limits, persisted queries, Idempotency-Key, subgraph nonces and presence work on the cluster", async () => {
    const limiter = createRateLimiter({ redis, perMinute: 2, perHour: 10, keyPrefix: `${harness.redisPrefix}ratelimit-test:` });
    const decisions = [await limiter.consume("user:a"), await limiter.consume("user:a"), await limiter.consume("user:a"), await limiter.consume("user:b")];
    assert.deepEqual(
      decisions.map((decision) => [decision.allowed, decision.degraded ?? false]),
      [
        [true, false],
        [true, false],
        [false, false],
        [true, false],
      ],
    );

    const token = await harness.token(0, "OWNER");
    const query = "query ClusterApq { me { id } }";
    const extensions = { persistedQuery: { version: 1, sha256Hash: createHash("sha256").update(query).digest("hex") } };
    const post = async (body: unknown) =>
      (await (
        await fetch(`${harness.stack.gateway.url}/graphql`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify(body) })
      ).json()) as {
        data?: unknown;
        errors?: { extensions?: { code?: string } }[];
      };
    assert.equal((await post({ extensions })).errors?.[0]?.extensions?.code, "PERSISTED_QUERY_NOT_FOUND");
    assert.equal((await post({ query, extensions })).errors, undefined);
    await waitFor("the persisted query stored", async () => (await post({ extensions })).errors === undefined);

    const key = randomUUID();
    const body = { workspaceId: acme().workspaceId, name: "Created once on a cluster" };
    const create = () =>
      fetch(`${harness.stack.gateway.url}/api/v1/boards`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}`, "idempotency-key": key },
        body: JSON.stringify(body),
      });
    const first = await create();
    const again = await create();
    assert.equal(first.status, 201, await first.clone().text());
    assert.equal(again.status, 201);
    assert.equal(again.headers.get("idempotent-replayed"), "true");
    assert.equal(await again.text(), await first.text());
    assert.equal(await harness.prisma.board.count({ where: { name: body.name } }), 1);
    const store = createRedisIdempotencyStore(redis, `${harness.redisPrefix}idempotency-test:`);
    assert.equal((await store.claim("k", "f")).outcome, "claimed");
    assert.equal((await store.claim("k", "f")).outcome, "in-flight");

    // Every request above reached the subgraphs signed, their nonces claimed in the cluster; a
    // second process (a fresh store) refuses one the first accepted.
    const nonce = randomUUID();
    assert.equal(await redisNonceStore(redis, { keyPrefix: harness.redisPrefix }).claim(nonce), true);
    assert.equal(await redisNonceStore(redis, { keyPrefix: harness.redisPrefix }).claim(nonce), false);

    // Presence: a join seen by another gateway's store through the cluster's pub/sub.
    const here = redisPresenceStore(redis, `${harness.redisPrefix}presence-test:`);
    const there = redisPresenceStore(redis.duplicate(), `${harness.redisPrefix}presence-test:`);
    const seen: PresenceChange[] = [];
    const watch = await there.watch(board().id, (change) => seen.push(change));
    assert.deepEqual(await here.join(board().id, "u1", "v1", Date.now() + 60_000), { first: true });
    await here.announce({ boardId: board().id, userId: "u1", change: "JOINED", at: new Date().toISOString() });
    await waitFor(
      "the presence change through the cluster",
      () => seen.length === 1,
      () => JSON.stringify(seen),
      10_000,
    );
    assert.deepEqual(await there.viewers(board().id), ["u1"]);
    await watch.dispose();
    await here.dispose();
    await there.dispose();
  });

  it("delivers live events in order and resumes a socket after a disconnect", async () => {
    const first = wsClient(harness.stack.gateway.url, await harness.token(0, "MEMBER"));
    sockets.push(first.client);
    const live = subscribe(first.client, boardActivity, { boardId: board().id, after: await streamHead(harness, "board", board().id) });
    const itemId = board().itemIds[0] ?? "";
    for (const name of ["one", "two", "three"]) await rename(itemId, name);
    await live.until(3);
    assert.deepEqual(
      deliveredOf(live).map((event) => event.name),
      ["one", "two", "three"],
    );
    const last = deliveredOf(live).at(-1)?.cursor;
    await first.client.dispose();
    for (const name of ["four", "five"]) await rename(itemId, name);
    const second = wsClient(harness.stack.gateway.url, await harness.token(0, "MEMBER"));
    sockets.push(second.client);
    const resumed = subscribe(second.client, boardActivity, { boardId: board().id, after: last });
    await resumed.until(2);
    assert.deepEqual(
      deliveredOf(resumed).map((event) => event.name),
      ["four", "five"],
    );
  });

  it("a master killed mid-stream fails over: every event once, CURSOR_EXPIRED only for an entry really lost", async () => {
    const streams = streamsOf(harness.redisPrefix);
    const boardStream = streams.board(acme().id, board().id).key;
    const socket = wsClient(harness.stack.gateway.url, await harness.token(0, "MEMBER"));
    sockets.push(socket.client);
    const live = subscribe(socket.client, boardActivity, { boardId: board().id, after: await streamHead(harness, "board", board().id) });
    const itemId = board().itemIds[1] ?? "";
    const renames: string[] = [];
    let killedAt = 0;
    let victim = 0;
    const writer = (async () => {
      for (let index = 0; index < 40; index += 1) {
        const name = `failover ${index}`;
        // A rename may meet the cluster mid-failover through the gateway's rate limiter and APQ: those
        // fail open or miss; the mutation itself goes to PostgreSQL and must succeed.
        await rename(itemId, name);
        renames.push(name);
        if (index === 15) {
          victim = await cluster.masterOf(boardStream);
          killedAt = Date.now();
          cluster.nodes.get(victim)?.process.kill("SIGKILL");
        }
      }
    })();
    await writer;
    const writtenMs = Date.now() - killedAt;
    await cluster.healthy(30_000);
    const failoverMs = Date.now() - killedAt;
    const promoted = await cluster.masterOf(boardStream);
    assert.notEqual(promoted, victim, "a replica now serves the organisation's slot");
    // Every rename is appended once to the stream the new master holds: the bridge waited for a replica.
    await waitFor(
      "every rename in the board stream",
      async () => {
        const names = (await redis.xrange(boardStream, "-", "+")).map(([, fields]) => renamedTo(fields[fields.indexOf("event") + 1] ?? "{}"));
        return renames.every((name) => names.filter((to) => to === name).length === 1);
      },
      () => `${renames.length} renames`,
      30_000,
    );
    const appendedMs = Date.now() - killedAt;
    const error = live.error() as { extensions?: { code?: string } }[] | undefined;
    if (error) {
      // Told to refetch: allowed only if an entry the subscriber was given is no longer in the stream.
      assert.equal(error[0]?.extensions?.code, "CURSOR_EXPIRED", JSON.stringify(error));
      const kept = new Set((await redis.xrange(boardStream, "-", "+")).map(([cursor]) => cursor));
      assert.ok(
        deliveredOf(live).some((event) => !kept.has(event.cursor)),
        "CURSOR_EXPIRED although every entry given out is still in the stream",
      );
    } else {
      await waitFor(
        "every rename delivered",
        () => deliveredOf(live).filter((event) => event.itemId === itemId).length >= renames.length,
        () => JSON.stringify(deliveredOf(live).map((event) => event.name)),
        30_000,
      );
      const names = deliveredOf(live)
        .filter((event) => event.itemId === itemId)
        .map((event) => event.name);
      assert.deepEqual(names, renames, "every rename once, in order, across the failover");
    }
    console.log(
      `redis cluster failover: master ${victim} SIGKILLed; renames done ${writtenMs} ms after, replica ${promoted} serving after ${failoverMs} ms (cluster-node-timeout 1000 ms), every rename in the stream after ${appendedMs} ms, delivered after ${Date.now() - killedAt} ms; subscriber ${error ? "told CURSOR_EXPIRED (an entry was lost)" : `got all ${renames.length} renames`}`,
    );
  });
});
