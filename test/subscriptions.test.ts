import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { mintToken } from "../gateway/src/auth/jwt.ts";
import { CLOSE_CODES, redisFeed, redisPresenceStore } from "../gateway/src/subscriptions/index.ts";
import { startGateway, type RunningGateway } from "../gateway/src/server.ts";
import { SUPERGRAPH_PATH } from "../scripts/stack.ts";
import type { BoardActivitySubscription, ItemChangesSubscription, NotificationsSubscription, PresenceSubscription } from "./generated/operations.ts";
import { TEST_JWT, TEST_SIGNING_SECRET, startHarness, type Harness } from "./support/harness.ts";
import { pipelineSettled, startLivePipeline, streamHead, subscribe, subscriptionOperation, wsClient, type LivePipeline } from "./support/live.ts";

describe("live board subscriptions (Postgres outbox -> Kafka -> Redis -> graphql-ws)", () => {
  let harness: Harness;
  let pipeline: LivePipeline;
  const clients: { dispose(): void | Promise<void> }[] = [];
  const version = async (itemId: string) => (await harness.prisma.item.findUniqueOrThrow({ where: { id: itemId } })).version;
  const acme = () => harness.seed.organizations[0];
  const board = () => acme().boards[0];
  const connect = (token: string | null) => {
    const opened = wsClient(harness.stack.gateway.url, token);
    clients.push(opened.client);
    return opened;
  };
  // Subscriptions start after the streams' current heads: they get every later event however long
  // they take to start, so no test waits for a subscription to be "established".
  const boardHead = () => streamHead(harness, "board", board().id);
  const orgHead = () => streamHead(harness, "org", acme().id);
  async function rename(itemId: string, name: string) {
    const owner = await harness.token(0, "OWNER");
    const result = await harness.gql(owner, `mutation($input: UpdateItemInput!) { updateItem(input: $input) { id } }`, {
      input: { id: itemId, expectedVersion: await version(itemId), name },
    });
    assert.equal(result.body.errors, undefined, JSON.stringify(result.body.errors));
  }

  before(async () => {
    harness = await startHarness("subscriptions", { itemsPerBoard: 5, subscriptions: { presenceHeartbeatMs: 200, presenceExpiryMs: 600 } });
    pipeline = await startLivePipeline(harness);
    // One event in the board's (and so the organisation's) stream, for the first head to be after.
    await rename(board().itemIds[4] ?? "", "Warm-up");
  });
  after(async () => {
    for (const client of clients) await client.dispose();
    await pipeline?.dispose();
    await harness?.dispose();
  });

  it("delivers a mutation on the items subgraph with the cross-subgraph selection", async () => {
    const { client } = connect(await harness.token(0, "MEMBER"));
    const live = subscribe(client, subscriptionOperation("BoardActivity"), { boardId: board().id, after: await boardHead() });
    const itemId = board().itemIds[0] ?? "";
    await rename(itemId, "Live rename");
    const [first] = (await live.until(1)) as { data?: BoardActivitySubscription }[];
    const event = first?.data?.boardActivity;
    assert.ok(event, JSON.stringify(first));
    assert.equal(event.type, "ITEM_UPDATED");
    assert.equal(event.eventType, "project.item.updated");
    assert.equal(event.itemId, itemId);
    assert.match(event.cursor, /^\d+-\d+$/);
    assert.equal(event.item?.name, "Live rename");
    assert.equal(event.item?.board.name, board().name, "board name comes from the projects subgraph");
    assert.ok(Array.isArray(event.item?.assignees), "assignees resolve through the users subgraph");
    assert.equal(event.actor?.name, acme().users.find((user) => user.role === "OWNER")?.name);
    assert.deepEqual((event.data as { changes: { name: unknown } }).changes.name, { from: (event.data as { changes: { name: { from: string } } }).changes.name.from, to: "Live rename" });
    live.dispose();
  });

  it("refuses another organisation's guessed board id with FORBIDDEN and sends no event", async () => {
    const globex = connect(await harness.token(1, "OWNER"));
    const live = subscribe(globex.client, subscriptionOperation("BoardActivity"), { boardId: board().id });
    await live.completed;
    const errors = live.error() as { extensions?: { code?: string } }[];
    assert.equal(errors[0]?.extensions?.code, "FORBIDDEN");
    const witness = subscribe(connect(await harness.token(0, "MEMBER")).client, subscriptionOperation("BoardActivity"), { boardId: board().id, after: await boardHead() });
    await rename(board().itemIds[1] ?? "", "Not for Globex");
    // The sentinel: the same item's next change, after it in the stream. Once the witness has it,
    // the gateway has handled the rename for every socket; the flush brings in what it sent Globex.
    await rename(board().itemIds[1] ?? "", "Sentinel after Globex");
    await witness.until(2);
    await globex.flush();
    assert.equal(live.sent(), 0, JSON.stringify(globex.messages));
    witness.dispose();
  });

  it("refuses a board the caller cannot read within the organisation (GUEST, private board)", async () => {
    const { client } = connect(await harness.token(0, "GUEST"));
    const live = subscribe(client, subscriptionOperation("BoardActivity"), { boardId: acme().boards[1].id });
    await live.completed;
    assert.equal((live.error() as { extensions?: { code?: string } }[])[0]?.extensions?.code, "FORBIDDEN");
  });

  it("stops delivery when access is revoked: one FORBIDDEN, then nothing", async () => {
    const guestId = acme().userIdsByRole.GUEST;
    const guest = connect(await harness.token(0, "GUEST"));
    const live = subscribe(guest.client, subscriptionOperation("BoardActivity"), { boardId: board().id, after: await boardHead() });
    await rename(board().itemIds[2] ?? "", "Seen by the guest");
    await live.until(1);
    const owner = await harness.token(0, "OWNER");
    const unshared = await harness.gql(owner, `mutation($input: UnshareBoardInput!) { unshareBoard(input: $input) { id } }`, {
      input: { boardId: board().id, userId: guestId },
    });
    assert.equal(unshared.body.errors, undefined);
    await live.until(2);
    await live.completed;
    const last = live.results.at(-1) as { errors?: { extensions?: { code?: string } }[] };
    assert.equal(last.errors?.[0]?.extensions?.code, "FORBIDDEN");
    const witness = subscribe(connect(owner).client, subscriptionOperation("BoardActivity"), { boardId: board().id, after: await boardHead() });
    await rename(board().itemIds[2] ?? "", "Not seen by the guest");
    // The sentinel (the same item's next change): once the owner has it, the gateway has handled
    // the rename before it; the flush brings in whatever it sent the guest. The client itself drops
    // messages of a completed subscription, so the socket's own record is what counts.
    await rename(board().itemIds[2] ?? "", "Sentinel after the guest");
    await witness.until(2);
    await guest.flush();
    assert.equal(live.sent(), 2, JSON.stringify(guest.messages));
    witness.dispose();
    // Share it back for the tests that follow.
    await harness.gql(owner, `mutation($input: ShareBoardInput!) { shareBoard(input: $input) { id } }`, {
      input: { boardId: board().id, userId: guestId, permission: "VIEWER" },
    });
  });

  it("closes the socket with 4401 for a missing or invalid token", async () => {
    assert.equal((await connect(null).closed).code, CLOSE_CODES.unauthorized);
    assert.equal((await connect("garbage.token.value").closed).code, CLOSE_CODES.unauthorized);
  });

  it("closes the socket with 4403 when the token expires", async () => {
    const member = acme().userIdsByRole.MEMBER;
    const token = await mintToken({ userId: member, organizationId: acme().id, role: "MEMBER" }, TEST_JWT, "2s");
    const { closed } = connect(token);
    const started = Date.now();
    const { code } = await closed;
    assert.equal(code, CLOSE_CODES.forbidden);
    assert.ok(Date.now() - started < 4_000);
  });

  it("resumes after a disconnect with exactly the missed events, then live ones", async () => {
    const token = await harness.token(0, "MEMBER");
    const itemId = board().itemIds[3] ?? "";
    const first = connect(token);
    const live = subscribe(first.client, subscriptionOperation("BoardActivity"), { boardId: board().id, after: await boardHead() });
    await rename(itemId, "before-disconnect");
    const [seen] = (await live.until(1)) as { data?: BoardActivitySubscription }[];
    const cursor = seen?.data?.boardActivity.cursor;
    assert.ok(cursor);
    await first.client.dispose();

    for (const name of ["missed-1", "missed-2", "missed-3"]) await rename(itemId, name);
    // The resume must find all three in the stream.
    await pipelineSettled(harness);
    const second = connect(token);
    const resumed = subscribe(second.client, subscriptionOperation("BoardActivity"), { boardId: board().id, after: cursor });
    const missed = (await resumed.until(3)) as { data?: BoardActivitySubscription }[];
    assert.deepEqual(
      missed.map((result) => result.data?.boardActivity.data && (result.data.boardActivity.data as { changes: { name: { to: string } } }).changes.name.to),
      ["missed-1", "missed-2", "missed-3"],
    );
    await rename(itemId, "after-resume");
    // The sentinel: a duplicate of anything before it would arrive before it.
    await rename(itemId, "sentinel");
    const all = (await resumed.until(5)) as { data?: BoardActivitySubscription }[];
    assert.deepEqual(
      all.map((result) => (result.data!.boardActivity.data as { changes: { name: { to: string } } }).changes.name.to),
      ["missed-1", "missed-2", "missed-3", "after-resume", "sentinel"],
      "no duplicates",
    );
    const cursors = all.map((result) => result.data?.boardActivity.cursor);
    assert.equal(new Set(cursors).size, 5);
  });

  it("answers a cursor older than the retention with CURSOR_EXPIRED and a malformed one with CURSOR_INVALID", async () => {
    const { client } = connect(await harness.token(0, "MEMBER"));
    const expired = subscribe(client, subscriptionOperation("BoardActivity"), { boardId: board().id, after: "1-0" });
    await expired.completed;
    assert.equal((expired.error() as { extensions?: { code?: string } }[])[0]?.extensions?.code, "CURSOR_EXPIRED");
    const invalid = subscribe(client, subscriptionOperation("BoardActivity"), { boardId: board().id, after: "yesterday" });
    await invalid.completed;
    assert.equal((invalid.error() as { extensions?: { code?: string } }[])[0]?.extensions?.code, "CURSOR_INVALID");
  });

  it("itemChanged sends only that item's events; myNotifications tells a user they were assigned", async () => {
    const { client } = connect(await harness.token(0, "VIEWER"));
    const [watched, other] = [board().itemIds[0] ?? "", board().itemIds[1] ?? ""];
    const item = subscribe(client, subscriptionOperation("ItemChanges"), { itemId: watched, after: await boardHead() });
    const notifications = subscribe(client, subscriptionOperation("Notifications"), { after: await orgHead() });
    await rename(other, "someone else's item");
    await rename(watched, "the watched item");
    const owner = await harness.token(0, "OWNER");
    const assigned = await harness.gql(owner, `mutation($input: AssignUsersInput!) { assignUsers(input: $input) { id } }`, {
      input: { itemId: watched, add: [acme().userIdsByRole.VIEWER] },
    });
    assert.equal(assigned.body.errors, undefined);
    const [renamed] = (await item.until(1)) as { data?: ItemChangesSubscription }[];
    assert.equal(renamed?.data?.itemChanged.item?.name, "the watched item");
    const [notice] = (await notifications.until(1)) as { data?: NotificationsSubscription }[];
    assert.equal(notice?.data?.myNotifications.type, "ASSIGNED");
    assert.equal(notice?.data?.myNotifications.item?.name, "the watched item");
    // The sentinel, written once every change before it is in the streams (the other item's
    // rename included), so it arrives after all of them: unassigning the viewer is the watched
    // item's next change and the viewer's next notification.
    await pipelineSettled(harness);
    const unassigned = await harness.gql(owner, `mutation($input: AssignUsersInput!) { assignUsers(input: $input) { id } }`, {
      input: { itemId: watched, remove: [acme().userIdsByRole.VIEWER] },
    });
    assert.equal(unassigned.body.errors, undefined);
    const changes = (await item.until(3)) as { data?: ItemChangesSubscription }[];
    assert.deepEqual(
      changes.map((result) => [result.data?.itemChanged.type, result.data?.itemChanged.item?.name]),
      Array.from({ length: 3 }, () => ["ITEM_UPDATED", "the watched item"]),
      "the rename, the assignment and the unassignment of the watched item, not the other item",
    );
    const notices = (await notifications.until(2)) as { data?: NotificationsSubscription }[];
    assert.deepEqual(
      notices.map((result) => result.data?.myNotifications.type),
      ["ASSIGNED", "UNASSIGNED"],
    );
  });

  it("applies the gateway's operation limits to subscription documents", async () => {
    const { client } = connect(await harness.token(0, "MEMBER"));
    const costly = subscribe(client, `subscription($b: ID!) { boardActivity(boardId: $b) { item { comments(first: 1000) { nodes { item { comments(first: 1000) { nodes { body } } } } } } } }`, {
      b: board().id,
    });
    await costly.completed;
    assert.equal((costly.error() as { extensions?: { code?: string } }[])[0]?.extensions?.code, "COST_LIMIT_EXCEEDED");
  });

  it("refuses itemChanged on another organisation's item", async () => {
    const { client } = connect(await harness.token(1, "OWNER"));
    const live = subscribe(client, subscriptionOperation("ItemChanges"), { itemId: board().itemIds[0] });
    await live.completed;
    assert.equal((live.error() as { extensions?: { code?: string } }[])[0]?.extensions?.code, "FORBIDDEN");
  });

  it("resolves an event once per distinct selection, not once per socket", async () => {
    const token = await harness.token(0, "MEMBER");
    const after = await boardHead();
    const subscriptions = Array.from({ length: 5 }, () => subscribe(connect(token).client, subscriptionOperation("BoardActivity"), { boardId: board().id, after }));
    // Each subscription that has this event is live (a late one caught up on its own), so the next
    // event reaches all five through the stream's one reader at once.
    await rename(board().itemIds[4] ?? "", "fan-out warm-up");
    for (const live of subscriptions) await live.until(1);
    const before = await payloadFetches();
    // A move is no change a kept view can follow: the answer is fetched, once for the five.
    const itemId = board().itemIds[4] ?? "";
    const owner = await harness.token(0, "OWNER");
    const moved = await harness.gql(owner, `mutation($input: MoveItemInput!) { moveItem(input: $input) { id } }`, {
      input: { id: itemId, expectedVersion: await version(itemId) },
    });
    assert.equal(moved.body.errors, undefined, JSON.stringify(moved.body.errors));
    for (const live of subscriptions) await live.until(2);
    assert.equal((await payloadFetches()) - before, 1);
    for (const live of subscriptions) live.dispose();
  });

  it("keeps board-shared answers between events: a rename costs no fetch, and every change that alters the answer shows", async () => {
    const member = acme().users.find((user) => user.role === "MEMBER");
    assert.ok(member);
    const memberToken = await harness.token(0, "MEMBER");
    const owner = await harness.token(0, "OWNER");
    const live = subscribe(connect(memberToken).client, subscriptionOperation("BoardActivity"), { boardId: board().id, after: await boardHead() });
    const itemId = board().itemIds[3] ?? "";
    const mutate = async (token: string, query: string, input: Record<string, unknown>) => {
      const result = await harness.gql(token, query, { input });
      assert.equal(result.body.errors, undefined, JSON.stringify(result.body.errors));
    };
    const events: { data?: BoardActivitySubscription }[] = [];
    const next = async () => {
      const all = (await live.until(events.length + 1)) as { data?: BoardActivitySubscription }[];
      events.push(all[events.length] ?? {});
      return events.at(-1)?.data?.boardActivity;
    };

    await rename(itemId, "Kept 1");
    assert.equal((await next())?.item?.name, "Kept 1");
    const fetched = await payloadFetches();
    const hits = await viewHits();
    await rename(itemId, "Kept 2");
    const renamed = await next();
    assert.equal(renamed?.item?.name, "Kept 2");
    assert.equal(renamed?.item?.board.name, board().name);
    assert.equal((await payloadFetches()) - fetched, 0, "the rename was patched into the kept answer");
    assert.equal((await viewHits()) - hits, 1);

    // Assignees change: fetched again, then kept.
    await mutate(owner, `mutation($input: AssignUsersInput!) { assignUsers(input: $input) { id } }`, {
      itemId,
      add: [member.id],
      expectedVersion: await version(itemId),
    });
    assert.deepEqual(
      (await next())?.item?.assignees.map((user) => user.name),
      [member.name],
    );
    // The assignee renames themself (an organisation event), then the item is renamed: the new name shows.
    await mutate(memberToken, `mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { id } }`, { name: "Member Renamed" });
    await rename(itemId, "Kept 3");
    const afterProfile = await next();
    assert.equal(afterProfile?.item?.name, "Kept 3");
    assert.deepEqual(
      afterProfile?.item?.assignees.map((user) => user.name),
      ["Member Renamed"],
    );
    // The board is renamed (a board event, delivered too), then the item: the new board name shows.
    const boardVersion = (await harness.prisma.board.findUniqueOrThrow({ where: { id: board().id } })).version;
    await mutate(owner, `mutation($input: UpdateBoardInput!) { updateBoard(input: $input) { id } }`, {
      id: board().id,
      expectedVersion: boardVersion,
      name: "Board Renamed",
    });
    assert.equal((await next())?.type, "BOARD_UPDATED");
    await rename(itemId, "Kept 4");
    const afterBoard = await next();
    assert.equal(afterBoard?.item?.name, "Kept 4");
    assert.equal(afterBoard?.item?.board.name, "Board Renamed");
    // Put back what other tests read.
    await mutate(memberToken, `mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { id } }`, { name: member.name });
    await mutate(owner, `mutation($input: UpdateBoardInput!) { updateBoard(input: $input) { id } }`, {
      id: board().id,
      expectedVersion: boardVersion + 1,
      name: board().name,
    });
    live.dispose();
  });

  async function metric(prefix: string): Promise<number> {
    const text = await (await fetch(`${harness.stack.gateway.url}/metrics`)).text();
    const line = text.split("\n").find((entry) => entry.startsWith(prefix));
    return line ? Number(line.split(" ").at(-1)) : 0;
  }
  const payloadFetches = () => metric('sunday_gateway_requests_total{operation="SubscriptionPayload"');
  const viewHits = () => metric('sunday_gateway_subscription_view_reads_total{result="hit"}');

  it("shows presence: a snapshot, JOINED when another viewer arrives, LEFT when they go or their socket dies", async () => {
    const first = connect(await harness.token(0, "OWNER"));
    const watching = subscribe(first.client, subscriptionOperation("Presence"), { boardId: board().id });
    const [snapshot] = (await watching.until(1)) as { data?: PresenceSubscription }[];
    assert.equal(snapshot?.data?.boardPresence.change, "SNAPSHOT");
    assert.deepEqual(
      snapshot?.data?.boardPresence.viewers.map((viewer) => viewer.id),
      [acme().userIdsByRole.OWNER],
    );

    const second = connect(await harness.token(0, "MEMBER"));
    const joining = subscribe(second.client, subscriptionOperation("Presence"), { boardId: board().id });
    await joining.until(1);
    const [, joined] = (await watching.until(2)) as { data?: PresenceSubscription }[];
    assert.equal(joined?.data?.boardPresence.change, "JOINED");
    assert.equal(joined?.data?.boardPresence.user?.id, acme().userIdsByRole.MEMBER);
    assert.equal(joined?.data?.boardPresence.viewerCount, 2);

    // A socket that dies without a goodbye: its heartbeat stops and the expiry removes it.
    const ghost = acme().userIdsByRole.ADMIN;
    await harness.redis.zadd(`${harness.redisPrefix}board:${board().id}:viewers`, Date.now() - 1, `${ghost}|dead-socket`);
    const [, , ghostLeft] = (await watching.until(3)) as { data?: PresenceSubscription }[];
    assert.equal(ghostLeft?.data?.boardPresence.change, "LEFT");
    assert.equal(ghostLeft?.data?.boardPresence.user?.id, ghost);

    joining.dispose();
    const [, , , left] = (await watching.until(4)) as { data?: PresenceSubscription }[];
    assert.equal(left?.data?.boardPresence.change, "LEFT");
    assert.equal(left?.data?.boardPresence.user?.id, acme().userIdsByRole.MEMBER);
    assert.equal(left?.data?.boardPresence.viewerCount, 1);
    watching.dispose();
  });

  it("closes a removed member's socket with 4403", async () => {
    const owner = await harness.token(0, "OWNER");
    const invited = await harness.gql(owner, `mutation($input: InviteMemberInput!) { inviteMember(input: $input) { id user { id } } }`, {
      input: { email: `leaving-${Date.now()}@acme.example`, name: "Leaving Soon", role: "MEMBER" },
    });
    const userId = (invited.body.data!.inviteMember as { user: { id: string } }).user.id;
    const token = await mintToken({ userId, organizationId: acme().id, role: "MEMBER" }, TEST_JWT);
    const { client, closed, connected } = connect(token);
    subscribe(client, subscriptionOperation("BoardActivity"), { boardId: board().id });
    // Acknowledged: the socket is registered and its organisation's stream followed.
    await connected;
    const removed = await harness.gql(owner, `mutation($input: RemoveMemberInput!) { removeMember(input: $input) { id } }`, { input: { userId } });
    assert.equal(removed.body.errors, undefined, JSON.stringify(removed.body.errors));
    assert.equal((await closed).code, CLOSE_CODES.forbidden);
  });
});

describe("live subscriptions across gateway instances", () => {
  let harness: Harness;
  let pipeline: LivePipeline;
  let second: RunningGateway;
  const clients: { dispose(): void | Promise<void> }[] = [];

  before(async () => {
    harness = await startHarness("subscriptions_multi", { itemsPerBoard: 3, subscriptions: {} });
    pipeline = await startLivePipeline(harness);
    second = await startGateway({
      supergraph: { sdl: await readFile(SUPERGRAPH_PATH, "utf8") },
      signingSecret: TEST_SIGNING_SECRET,
      jwt: TEST_JWT,
      subgraphUrls: harness.stack.subgraphUrls,
      redis: harness.redis,
      redisPrefix: harness.redisPrefix,
      rateLimit: false,
      subscriptions: { feed: redisFeed(harness.redis), presence: redisPresenceStore(harness.redis, harness.redisPrefix), streamPrefix: harness.redisPrefix },
    });
  });
  after(async () => {
    for (const client of clients) await client.dispose();
    await second?.dispose();
    await pipeline?.dispose();
    await harness?.dispose();
  });

  it("delivers a change made through instance A to a client of instance B, and a client moved from B to A resumes without a gap", async () => {
    const board = harness.seed.organizations[0].boards[0];
    const itemId = board.itemIds[0] ?? "";
    const owner = await harness.token(0, "OWNER");
    const rename = async (name: string) => {
      const { version } = await harness.prisma.item.findUniqueOrThrow({ where: { id: itemId } });
      const result = await harness.gql(owner, `mutation($input: UpdateItemInput!) { updateItem(input: $input) { id } }`, { input: { id: itemId, expectedVersion: version, name } });
      assert.equal(result.body.errors, undefined);
    };
    const token = await harness.token(0, "MEMBER");
    await rename("warm-up");
    const onB = wsClient(second.url, token);
    clients.push(onB.client);
    const live = subscribe(onB.client, subscriptionOperation("BoardActivity"), { boardId: board.id, after: await streamHead(harness, "board", board.id) });
    await rename("via A, seen on B");
    const [seen] = (await live.until(1)) as { data?: BoardActivitySubscription }[];
    assert.equal(seen?.data?.boardActivity.item?.name, "via A, seen on B");

    // Instance B goes away: its clients are told (1001) and reconnect elsewhere with their cursor.
    await second.dispose();
    assert.equal((await onB.closed).code, CLOSE_CODES.goingAway);
    await rename("while reconnecting");
    const onA = wsClient(harness.stack.gateway.url, token);
    clients.push(onA.client);
    const resumed = subscribe(onA.client, subscriptionOperation("BoardActivity"), { boardId: board.id, after: seen?.data?.boardActivity.cursor });
    await rename("after reconnecting");
    // The sentinel: a duplicate of either would arrive before it.
    await rename("sentinel");
    const results = (await resumed.until(3)) as { data?: BoardActivitySubscription }[];
    assert.deepEqual(
      results.map((result) => (result.data!.boardActivity.data as { changes: { name: { to: string } } }).changes.name.to),
      ["while reconnecting", "after reconnecting", "sentinel"],
    );
  });
});
