// Replay protection of signed subgraph calls across replicas (issue 13): with Redis, the nonce a
// replica served is refused by every other replica of the subgraph, not only by itself; with Redis
// unreachable each replica's own memory still refuses its own replays.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { createPrisma, type PrismaClient } from "../platform/db.ts";
import { NonceRegistry, signInternalRequest } from "../platform/identity.ts";
import { redisNonceStore } from "../platform/redis-nonces.ts";
import type { RunningSubgraph } from "../subgraphs/shared/server.ts";
import { startItemsSubgraph } from "../subgraphs/items/src/index.ts";
import { startHarness, TEST_SIGNING_SECRET, type Harness } from "./support/harness.ts";

describe("signed subgraph calls: a nonce is served once across replicas", () => {
  let harness: Harness;
  let prisma: PrismaClient;
  const replicas: RunningSubgraph[] = [];

  before(async () => {
    harness = await startHarness("noncereplicas", { itemsPerBoard: 2 });
    prisma = createPrisma({ url: harness.databaseUrl, poolMax: 2 });
    // Two instances of one subgraph, as two pods behind one Service would be.
    for (let index = 0; index < 2; index++) {
      const nonces = redisNonceStore(harness.redis, { keyPrefix: harness.redisPrefix });
      const peers = { projects: harness.stack.subgraphs.projects.url, users: harness.stack.subgraphs.users.url };
      replicas.push(await startItemsSubgraph({ prisma, signingSecret: TEST_SIGNING_SECRET, nonces, peers }));
    }
  });
  after(async () => {
    for (const replica of replicas) await replica.dispose();
    await prisma?.$disconnect();
    await harness?.dispose();
  });

  const READ = 'query Replayed($id: ID!) { _entities(representations: [{ __typename: "Item", id: $id }]) { ... on Item { name } } }';

  /** One signed request, as the gateway sends it: the same bytes can be sent (replayed) anywhere. */
  function signed(query = READ, variables: Record<string, unknown> = { id: harness.seed.organizations[0].boards[0]?.itemIds[0] }) {
    const organization = harness.seed.organizations[0];
    const body = JSON.stringify({ query, variables });
    const identity = { userId: organization.userIdsByRole.OWNER, organizationId: organization.id, role: "OWNER" as const };
    const headers = signInternalRequest({ method: "POST", path: "/graphql", body, identity, correlationId: "replay-test" }, TEST_SIGNING_SECRET);
    return (url: string) => fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
  }

  it("serves a request once: replayed to the same replica or to another, it is refused", async () => {
    const send = signed();
    const [first, second] = replicas as [RunningSubgraph, RunningSubgraph];
    const served = await send(first.url);
    assert.equal(served.status, 200, await served.clone().text());
    const answer = (await served.json()) as { data?: { _entities: { name: string }[] } };
    assert.equal(typeof answer.data?._entities[0]?.name, "string");
    for (const target of [second.url, first.url]) {
      const replayed = await send(target);
      assert.equal(replayed.status, 401);
      const body = (await replayed.json()) as { errors: { message: string; extensions: { code: string } }[] };
      assert.equal(body.errors[0]?.extensions.code, "UNAUTHENTICATED");
      assert.match(body.errors[0]?.message ?? "", /replayed request/);
    }
  });

  it("runs a replayed mutation nowhere: the item changes once", async () => {
    const itemId = harness.seed.organizations[0].boards[0]?.itemIds[1] ?? "";
    const { version } = await prisma.item.findUniqueOrThrow({ where: { id: itemId } });
    const send = signed("mutation Replayed($input: UpdateItemInput!) { updateItem(input: $input) { version } }", {
      input: { id: itemId, expectedVersion: version, name: "Renamed once" },
    });
    const [first, second] = replicas as [RunningSubgraph, RunningSubgraph];
    const served = await send(first.url);
    assert.equal(served.status, 200);
    assert.deepEqual(((await served.json()) as { data: unknown }).data, { updateItem: { version: version + 1 } });
    // Replayed at once to both replicas: refused before anything runs (not a CONFLICT from the version check).
    const replays = await Promise.all([send(second.url), send(first.url)]);
    assert.deepEqual(
      replays.map((replay) => replay.status),
      [401, 401],
    );
    assert.equal((await prisma.item.findUniqueOrThrow({ where: { id: itemId } })).version, version + 1);
    assert.equal(await prisma.outboxEvent.count({ where: { aggregateId: itemId, aggregateVersion: { gt: version } } }), 1);
  });

  it("keeps the nonce in Redis for twice the signatures' lifetime, under the deployment's prefix", async () => {
    const store = redisNonceStore(harness.redis, { keyPrefix: harness.redisPrefix });
    assert.equal(await store.claim("layout-nonce"), true);
    const ttl = await harness.redis.pttl(`${harness.redisPrefix}nonce:layout-nonce`);
    assert.ok(ttl > 110_000 && ttl <= 120_000, String(ttl));
    assert.equal(await redisNonceStore(harness.redis, { keyPrefix: harness.redisPrefix }).claim("layout-nonce"), false, "another replica");
    assert.equal(await redisNonceStore(harness.redis, { keyPrefix: "elsewhere:" }).claim("layout-nonce"), true, "another deployment's namespace");
    await harness.redis.del("elsewhere:nonce:layout-nonce");
  });

  it("with Redis unreachable, decides from the replica's own memory and says so", async () => {
    // A port nothing listens on: every command fails or times out.
    const away = new Redis("redis://127.0.0.1:1", { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    const errors: unknown[] = [];
    const store = redisNonceStore(away, { timeoutMs: 100, onError: (error) => errors.push(error) });
    try {
      assert.equal(await store.claim("offline-nonce"), true);
      assert.equal(await store.claim("offline-nonce"), false, "its own replay, refused without Redis");
      assert.equal(errors.length, 1);
      assert.equal(new NonceRegistry().claim("offline-nonce"), true, "(another process's memory does not know it)");
    } finally {
      away.disconnect();
    }
  });
});
