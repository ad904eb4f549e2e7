// Subscription payloads never widen access inside an organisation (issue 9, item 1): a subscriber
// receives only what the same selection, run as a query by that subscriber, would return.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { RedisClient } from "../platform/redis.ts";
import { mintToken } from "../gateway/src/auth/jwt.ts";
import type { Role } from "../platform/identity.ts";
import { boardReadersOf } from "../gateway/src/subscriptions/access.ts";
import { TEST_JWT, TEST_SIGNING_SECRET, startHarness, type Harness } from "./support/harness.ts";
import { startLivePipeline, subscribe, wsClient, type LivePipeline, type Subscription } from "./support/live.ts";
import { streamsOf } from "../events/streams/names.ts";

/** A selection whose answer depends on who asks: the boards a user can read. */
const WIDE = `actor { name boards { nodes { name } } organization { boards { nodes { name } } } }`;

type Result = { data?: Record<string, { eventId?: string; type?: string; actor?: { boards?: { nodes: { name: string }[] } } } | null> | null; errors?: { extensions?: { code?: string } }[] };

describe("subscription payloads are computed for each subscriber's own rights", () => {
  let harness: Harness;
  let pipeline: LivePipeline;
  let blocking: RedisClient;
  const clients: { dispose(): void | Promise<void> }[] = [];
  const acme = () => harness.seed.organizations[0];
  const [publicBoard, privateBoard] = [() => acme().boards[0], () => acme().boards[1]];
  /** The MEMBER shared on the private board, and one who is not. */
  const members = () => {
    const all = acme().users.filter((user) => user.role === "MEMBER");
    const shared = new Set(privateBoard().members.map((member) => member.userId));
    const alan = all.find((user) => shared.has(user.id));
    const margaret = all.find((user) => !shared.has(user.id));
    assert.ok(alan && margaret, "the seed has a MEMBER with and one without the private board");
    return { alan, margaret };
  };
  const tokenOf = (userId: string, role: Role) => mintToken({ userId, organizationId: acme().id, role }, TEST_JWT);
  const owner = () => harness.token(0, "OWNER");

  async function gql(token: string, query: string, variables: Record<string, unknown>) {
    const result = await harness.gql(token, query, variables);
    assert.equal(result.body.errors, undefined, JSON.stringify(result.body.errors));
    return result.body.data as Record<string, { id: string; version?: number } | null>;
  }
  async function rename(itemId: string, name: string) {
    const { version } = await harness.prisma.item.findUniqueOrThrow({ where: { id: itemId } });
    await gql(await owner(), `mutation($input: UpdateItemInput!) { updateItem(input: $input) { id } }`, { input: { id: itemId, expectedVersion: version, name } });
  }
  async function createItem(boardIndex: 0 | 1, name: string, assigneeIds: string[]) {
    const board = acme().boards[boardIndex];
    const data = await gql(await owner(), `mutation($input: CreateItemInput!) { createItem(input: $input) { id } }`, {
      input: { boardId: board.id, groupId: board.groupIds[0], name, assigneeIds },
    });
    return data.createItem?.id ?? "";
  }

  /**
   * The stream's newest cursor, waiting (XREAD BLOCK, not a sleep) for its first entry if it has
   * none yet: subscribing `after` it delivers every later event, however long the socket takes.
   */
  async function head(stream: "board" | "org", id: string): Promise<string> {
    const streams = streamsOf(harness.redisPrefix);
    const organizationOf = async (boardId: string) => (await harness.prisma.board.findUniqueOrThrow({ where: { id: boardId } })).organizationId;
    const key = stream === "org" ? streams.org(id).key : streams.board(await organizationOf(id), id).key;
    const newest = await harness.redis.xrevrange(key, "+", "-", "COUNT", 1);
    if (newest[0]) return newest[0][0];
    const read = await blocking.xread("BLOCK", 20_000, "STREAMS", key, "0-0");
    const first = read?.[0]?.[1]?.[0]?.[0];
    assert.ok(first, `no event reached ${key}`);
    return head(stream, id);
  }
  async function open(userId: string, role: Role, query: string, variables: Record<string, unknown>): Promise<Subscription> {
    const { client } = wsClient(harness.stack.gateway.url, await tokenOf(userId, role));
    clients.push(client);
    return subscribe(client, query, variables);
  }
  const boardActivity = (selection: string) => `subscription($boardId: ID!, $after: String) { boardActivity(boardId: $boardId, after: $after) { eventId type ${selection} } }`;
  const itemChanged = (selection: string) => `subscription($itemId: ID!, $after: String) { itemChanged(itemId: $itemId, after: $after) { eventId type ${selection} } }`;
  const notifications = (selection: string) => `subscription($after: String) { myNotifications(after: $after) { eventId type ${selection} } }`;
  const boardNames = (result: Result | undefined, field: string) =>
    new Set(((result?.data?.[field]?.actor as { boards?: { nodes: { name: string }[] } } | undefined)?.boards?.nodes ?? []).map((board) => board.name));
  const orgBoardNames = (result: Result | undefined, field: string) =>
    new Set(((result?.data?.[field]?.actor as { organization?: { boards?: { nodes: { name: string }[] } } } | undefined)?.organization?.boards?.nodes ?? []).map((board) => board.name));

  before(async () => {
    harness = await startHarness("tenancy", { itemsPerBoard: 4, subscriptions: {} });
    pipeline = await startLivePipeline(harness);
    blocking = harness.redis.duplicate();
    // One event on each stream the tests subscribe to, so that each has a head to subscribe after.
    await rename(publicBoard().itemIds[0] ?? "", "Warm-up public");
    await rename(privateBoard().itemIds[0] ?? "", "Warm-up private");
    await createItem(0, "Warm-up assignment", [members().alan.id]);
  });
  after(async () => {
    for (const client of clients) await client.dispose();
    blocking?.disconnect();
    await pipeline?.dispose();
    await harness?.dispose();
  });

  for (const order of ["shared member first", "unshared member first"] as const) {
    it(`boardActivity: two MEMBERs with different shares each get their own boards (${order})`, async () => {
      const { alan, margaret } = members();
      const after = await head("board", publicBoard().id);
      const subscribers = order === "shared member first" ? [alan, margaret] : [margaret, alan];
      const [first, second] = await Promise.all(subscribers.map((user) => open(user.id, "MEMBER", boardActivity(WIDE), { boardId: publicBoard().id, after })));
      await rename(publicBoard().itemIds[1] ?? "", `Renamed, ${order}`);
      const [firstResult] = (await first!.until(1)) as Result[];
      const [secondResult] = (await second!.until(1)) as Result[];
      const byUser = new Map([
        [subscribers[0]!.id, firstResult],
        [subscribers[1]!.id, secondResult],
      ]);
      const privateName = privateBoard().name;
      assert.ok(boardNames(byUser.get(alan.id), "boardActivity").has(privateName), "the shared MEMBER sees the private board among the actor's boards");
      assert.ok(orgBoardNames(byUser.get(alan.id), "boardActivity").has(privateName));
      assert.ok(!boardNames(byUser.get(margaret.id), "boardActivity").has(privateName), JSON.stringify(byUser.get(margaret.id)));
      assert.ok(!orgBoardNames(byUser.get(margaret.id), "boardActivity").has(privateName), JSON.stringify(byUser.get(margaret.id)));
      assert.ok(boardNames(byUser.get(margaret.id), "boardActivity").has(publicBoard().name), "the public board is there for both");
      first!.dispose();
      second!.dispose();
    });
  }

  it("itemChanged: two MEMBERs with different shares each get their own boards", async () => {
    const { alan, margaret } = members();
    const itemId = publicBoard().itemIds[2] ?? "";
    const after = await head("board", publicBoard().id);
    const [unshared, shared] = await Promise.all([open(margaret.id, "MEMBER", itemChanged(WIDE), { itemId, after }), open(alan.id, "MEMBER", itemChanged(WIDE), { itemId, after })]);
    await rename(itemId, "Item renamed");
    const [forMargaret] = (await unshared.until(1)) as Result[];
    const [forAlan] = (await shared.until(1)) as Result[];
    assert.ok(boardNames(forAlan, "itemChanged").has(privateBoard().name));
    assert.ok(!boardNames(forMargaret, "itemChanged").has(privateBoard().name), JSON.stringify(forMargaret));
    assert.ok(!orgBoardNames(forMargaret, "itemChanged").has(privateBoard().name), JSON.stringify(forMargaret));
    unshared.dispose();
    shared.dispose();
  });

  it("boardActivity: a MEMBER and the GUEST on one board each get their own boards", async () => {
    const { alan } = members();
    const guest = acme().userIdsByRole.GUEST;
    const after = await head("board", publicBoard().id);
    const [forGuest, forMember] = await Promise.all([
      open(guest, "GUEST", boardActivity(WIDE), { boardId: publicBoard().id, after }),
      open(alan.id, "MEMBER", boardActivity(WIDE), { boardId: publicBoard().id, after }),
    ]);
    await rename(publicBoard().itemIds[3] ?? "", "Seen by guest and member");
    const [guestResult] = (await forGuest.until(1)) as Result[];
    const [memberResult] = (await forMember.until(1)) as Result[];
    assert.ok(boardNames(memberResult, "boardActivity").has(privateBoard().name));
    assert.deepEqual([...boardNames(guestResult, "boardActivity")], [publicBoard().name], JSON.stringify(guestResult));
    assert.deepEqual([...orgBoardNames(guestResult, "boardActivity")], [publicBoard().name], JSON.stringify(guestResult));
    forGuest.dispose();
    forMember.dispose();
  });

  it("myNotifications: two MEMBERs assigned by one change each get their own boards", async () => {
    const { alan, margaret } = members();
    const after = await head("org", acme().id);
    const [forMargaret, forAlan] = await Promise.all([open(margaret.id, "MEMBER", notifications(WIDE), { after }), open(alan.id, "MEMBER", notifications(WIDE), { after })]);
    await createItem(0, "Assigned to both", [alan.id, margaret.id]);
    const [margaretResult] = (await forMargaret.until(1)) as Result[];
    const [alanResult] = (await forAlan.until(1)) as Result[];
    assert.equal(margaretResult?.data?.myNotifications?.type, "ASSIGNED");
    assert.ok(boardNames(alanResult, "myNotifications").has(privateBoard().name));
    assert.ok(!boardNames(margaretResult, "myNotifications").has(privateBoard().name), JSON.stringify(margaretResult));
    assert.ok(!orgBoardNames(margaretResult, "myNotifications").has(privateBoard().name), JSON.stringify(margaretResult));
    forMargaret.dispose();
    forAlan.dispose();
  });

  it("myNotifications: an assignment on a board the user cannot read is not delivered, and the subscription goes on", async () => {
    const { margaret } = members();
    const after = await head("org", acme().id);
    const live = await open(margaret.id, "MEMBER", notifications(`item { name board { name } }`), { after });
    await createItem(1, "Secret assignment", [margaret.id]);
    // The sentinel: an assignment she can see, made after the one she cannot.
    await createItem(0, "Visible assignment", [margaret.id]);
    const [first] = (await live.until(1)) as { data?: { myNotifications?: { type: string; item?: { name: string; board: { name: string } } } } }[];
    assert.equal(first?.data?.myNotifications?.item?.name, "Visible assignment", JSON.stringify(live.results));
    assert.equal(live.results.length, 1, JSON.stringify(live.results));
    assert.equal(live.error(), undefined);
    live.dispose();
  });

  it("VIEWER after a share is revoked: FORBIDDEN, and no payload computed for the MEMBER who still reads the board", async () => {
    const { alan } = members();
    const viewer = acme().userIdsByRole.VIEWER;
    const board = privateBoard();
    const ownerToken = await owner();
    await gql(ownerToken, `mutation($input: ShareBoardInput!) { shareBoard(input: $input) { id } }`, { input: { boardId: board.id, userId: viewer, permission: "VIEWER" } });
    const after = await head("board", board.id);
    const selection = `item { name } board { name groups { name } }`;
    const [forViewer, forMember] = await Promise.all([
      open(viewer, "VIEWER", boardActivity(selection), { boardId: board.id, after }),
      open(alan.id, "MEMBER", boardActivity(selection), { boardId: board.id, after }),
    ]);
    // The viewer's subscription is live once it delivered a change made after it was sent (the share
    // itself may come first); only then is the revocation one it must be told about.
    await rename(board.itemIds[2] ?? "", "Before the revocation");
    const named = (name: string) => (result: unknown) => (result as { data?: { boardActivity?: { item?: { name?: string } } } }).data?.boardActivity?.item?.name === name;
    while (!forViewer.results.some(named("Before the revocation"))) await forViewer.until(forViewer.results.length + 1);
    await gql(ownerToken, `mutation($input: UnshareBoardInput!) { unshareBoard(input: $input) { id } }`, { input: { boardId: board.id, userId: viewer } });
    await forViewer.completed;
    const last = forViewer.results.at(-1) as Result | undefined;
    assert.equal(last?.errors?.[0]?.extensions?.code, "FORBIDDEN", JSON.stringify(forViewer.results));
    const seenByViewer = forViewer.results.length;
    await rename(board.itemIds[1] ?? "", "After the revocation");
    // The member's stream is the sentinel: once the rename reached him, it was delivered (or not) to everyone.
    while (!forMember.results.some(named("After the revocation"))) await forMember.until(forMember.results.length + 1);
    assert.equal(forViewer.results.length, seenByViewer, "nothing after FORBIDDEN");
    assert.ok(!JSON.stringify(forViewer.results).includes("After the revocation"));
    forViewer.dispose();
    forMember.dispose();
  });

  it("the batched reading check (projects' _boardReaders) agrees with board(id) for every user, role and board", async () => {
    const readers = boardReadersOf({ projectsUrl: () => harness.stack.subgraphUrls.projects, signingSecret: TEST_SIGNING_SECRET });
    const organizations = harness.seed.organizations;
    const identities = organizations.flatMap((organization) => organization.users.map((user) => ({ userId: user.id, organizationId: organization.id, role: user.role as Role })));
    // An API key acts with a weaker role than its creator's: the answer follows the identity's role.
    identities.push({ ...identities.find((identity) => identity.role === "OWNER")!, role: "GUEST" });
    for (const board of organizations.flatMap((organization) => organization.boards)) {
      const batched = await readers(board.id, identities, "tenancy-test");
      const one = await Promise.all(
        identities.map(async (identity) => {
          const result = await harness.gql(await mintToken(identity, TEST_JWT), `query($id: ID!) { board(id: $id) { id } }`, { id: board.id });
          return (result.body.data?.board ?? null) !== null;
        }),
      );
      assert.deepEqual(batched, one, `board ${board.name}`);
    }
  });

  it("keeps _boardReaders out of the public API", async () => {
    const viaGateway = await harness.gql(await owner(), `{ _boardReaders(boardId: "${publicBoard().id}", readers: []) }`);
    assert.equal(viaGateway.body.errors?.[0]?.extensions?.code, "GRAPHQL_VALIDATION_FAILED");
  });
});
