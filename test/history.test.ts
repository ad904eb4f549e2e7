// Item.history and Board.history (and their REST routes): newest first, paged without gaps or
// duplicates, each change from → to, who made it and through which surface; and nothing at all
// for a caller who may not read the board now: another organisation, a GUEST without the share,
// a VIEWER or a MEMBER without the share of a private board, someone unshared after the fact.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mintToken } from "../gateway/src/auth/jwt.ts";
import { createPeerClient } from "../subgraphs/shared/peer.ts";
import type { Role } from "../platform/identity.ts";
import { TEST_JWT, TEST_SIGNING_SECRET, codes, startHarness, type Harness } from "./support/harness.ts";
import { RestClient, assertProblem, nextLink } from "./support/rest.ts";

interface Change {
  field: string;
  column: { id: string } | null;
  from: unknown;
  to: unknown;
}

interface Entry {
  id: string;
  eventType: string;
  type: string;
  version: number;
  itemId: string | null;
  item: { id: string; name: string } | null;
  actor: { id: string } | null;
  surface: string | null;
  apiKeyId: string | null;
  changes: Change[];
  occurredAt: string;
}

interface Page {
  nodes: Entry[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

const ENTRY = `id eventType type version itemId item { id name } actor { id } surface apiKeyId changes { field column { id } from to } occurredAt`;
const PAGE = `nodes { ${ENTRY} } pageInfo { hasNextPage endCursor }`;

describe("item and board history", () => {
  let harness: Harness;
  let rest: RestClient;
  const acme = () => harness.seed.organizations[0];
  const publicBoard = () => acme().boards[0];
  const privateBoard = () => acme().boards[1];
  /** An item created through the API (seeded items have no events), and one on the private board. */
  let itemId: string;
  let privateItemId: string;
  /** A MEMBER the private board is not shared with (the seed shares it with the first MEMBER only). */
  let outsider: { id: string; token: string };

  before(async () => {
    harness = await startHarness("history");
    rest = await RestClient.connect(harness);
    const other = acme().users.find((user) => user.role === "MEMBER" && user.id !== acme().userIdsByRole.MEMBER);
    assert.ok(other);
    outsider = { id: other.id, token: await mintToken({ userId: other.id, organizationId: acme().id, role: "MEMBER" }, TEST_JWT) };
  });
  after(() => harness?.dispose());

  const token = (role: Role, org: 0 | 1 = 0) => harness.token(org, role);

  async function ok<T>(bearer: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const result = await harness.gql(bearer, query, variables);
    assert.equal(result.body.errors, undefined, JSON.stringify(result.body.errors));
    return result.body.data as T;
  }

  async function version(id: string): Promise<number> {
    return (await harness.prisma.item.findUniqueOrThrow({ where: { id } })).version;
  }

  async function itemPage(bearer: string, id: string, first: number, after: string | null = null): Promise<Page | null> {
    const data = await ok<{ item: { history: Page } | null }>(bearer, `query($id: ID!, $first: Int, $after: String) { item(id: $id) { history(first: $first, after: $after) { ${PAGE} } } }`, {
      id,
      first,
      after,
    });
    return data.item?.history ?? null;
  }

  async function boardPage(bearer: string, id: string, first: number, after: string | null = null): Promise<Page | null> {
    const data = await ok<{ board: { history: Page | null } | null }>(bearer, `query($id: ID!, $first: Int, $after: String) { board(id: $id) { history(first: $first, after: $after) { ${PAGE} } } }`, {
      id,
      first,
      after,
    });
    return data.board?.history ?? null;
  }

  /** Entries page by page, until the end or `limit` entries. */
  async function all(read: (after: string | null) => Promise<Page | null>, limit = Number.POSITIVE_INFINITY): Promise<{ entries: Entry[]; pages: number }> {
    const entries: Entry[] = [];
    let cursor: string | null = null;
    for (let pages = 1; ; pages += 1) {
      const page = await read(cursor);
      assert.ok(page, "a readable history");
      entries.push(...page.nodes);
      if (!page.pageInfo.hasNextPage || entries.length >= limit) return { entries, pages };
      cursor = page.pageInfo.endCursor;
    }
  }

  it("lists an item's changes newest first, paged without gaps or duplicates, each from → to", async () => {
    const owner = await token("OWNER");
    const board = publicBoard();
    const { MEMBER, ADMIN } = acme().userIdsByRole;
    const created = await ok<{ createItem: { id: string } }>(owner, `mutation($input: CreateItemInput!) { createItem(input: $input) { id } }`, {
      input: { boardId: board.id, groupId: board.groupIds[0], name: "Draft", assigneeIds: [ADMIN], columnValues: [{ columnId: board.columnIds.NUMBER, value: 5 }] },
    });
    itemId = created.createItem.id;
    await ok(owner, `mutation($input: UpdateItemInput!) { updateItem(input: $input) { id } }`, { input: { id: itemId, expectedVersion: 1, name: "Final" } });
    await ok(owner, `mutation($input: SetColumnValueInput!) { setColumnValue(input: $input) { id } }`, {
      input: { itemId, columnId: board.columnIds.NUMBER, value: 7 },
    });
    await ok(owner, `mutation($input: AssignUsersInput!) { assignUsers(input: $input) { id } }`, { input: { itemId, add: [MEMBER], remove: [ADMIN] } });
    await ok(owner, `mutation($input: MoveItemInput!) { moveItem(input: $input) { id } }`, {
      input: { id: itemId, expectedVersion: await version(itemId), groupId: board.groupIds[1] },
    });
    await ok(owner, `mutation($input: CreateSubitemInput!) { createSubitem(input: $input) { id } }`, { input: { parentItemId: itemId, name: "Check" } });
    await ok(owner, `mutation($input: SetColumnValueInput!) { setColumnValue(input: $input) { id } }`, {
      input: { itemId, columnId: board.columnIds.NUMBER, value: null },
    });

    const { entries, pages } = await all((after) => itemPage(owner, itemId, 3, after));
    assert.equal(pages, 3);
    assert.deepEqual(
      entries.map((entry) => entry.version),
      [7, 6, 5, 4, 3, 2, 1],
    );
    assert.equal(new Set(entries.map((entry) => entry.id)).size, entries.length);
    assert.deepEqual(
      entries.map((entry) => entry.type),
      ["COLUMN_VALUE_SET", "SUBITEM_CREATED", "ITEM_MOVED", "ITEM_UPDATED", "COLUMN_VALUE_SET", "ITEM_UPDATED", "ITEM_CREATED"],
    );
    const [cleared, subitem, moved, assigned, valued, renamed, creation] = entries;
    const number = { id: board.columnIds.NUMBER };
    assert.deepEqual(cleared?.changes, [{ field: "columnValue", column: number, from: 7, to: null }]);
    assert.equal(subitem?.changes[0]?.field, "subitem");
    const stored = await harness.prisma.subitem.findFirstOrThrow({ where: { parentItemId: itemId } });
    assert.deepEqual(subitem?.changes[0]?.to, { id: stored.id, name: "Check" });
    assert.deepEqual(
      moved?.changes.find((change) => change.field === "groupId"),
      { field: "groupId", column: null, from: board.groupIds[0], to: board.groupIds[1] },
    );
    assert.deepEqual(assigned?.changes, [
      { field: "assignee", column: null, from: ADMIN, to: null },
      { field: "assignee", column: null, from: null, to: MEMBER },
    ]);
    assert.deepEqual(valued?.changes, [{ field: "columnValue", column: number, from: 5, to: 7 }]);
    assert.deepEqual(renamed?.changes, [{ field: "name", column: null, from: "Draft", to: "Final" }]);
    assert.deepEqual(
      creation?.changes.filter((change) => change.field !== "position"),
      [
        { field: "name", column: null, from: null, to: "Draft" },
        { field: "groupId", column: null, from: null, to: board.groupIds[0] },
        { field: "assignee", column: null, from: null, to: ADMIN },
        { field: "columnValue", column: number, from: null, to: 5 },
      ],
    );
    for (const entry of entries) {
      assert.equal(entry.actor?.id, acme().userIdsByRole.OWNER);
      assert.equal(entry.itemId, itemId);
      assert.equal(entry.item?.name, "Final", "the item as it is now");
    }
    const instants = entries.map((entry) => Date.parse(entry.occurredAt));
    assert.deepEqual(
      instants,
      [...instants].sort((a, b) => b - a),
    );
  });

  it("records the surface of each change: GRAPHQL, REST, and the API key it was made with", async () => {
    const owner = await token("OWNER");
    const rename = await rest.call("PATCH", `/api/v1/items/${itemId}`, { token: owner, json: { name: "Renamed over REST" } });
    assert.equal(rename.status, 200, rename.text);
    const created = await ok<{ createApiKey: { apiKey: { id: string }; secret: string } }>(owner, `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } secret } }`, {
      input: { name: "history test", role: "MEMBER" },
    });
    const viaKey = await harness.gql(created.createApiKey.secret, `mutation($input: UpdateItemInput!) { updateItem(input: $input) { id } }`, {
      input: { id: itemId, expectedVersion: await version(itemId), name: "Renamed with a key" },
    });
    assert.equal(viaKey.body.errors, undefined, JSON.stringify(viaKey.body.errors));
    const page = await itemPage(owner, itemId, 3);
    const [byKey, byRest, byGraphql] = page?.nodes ?? [];
    assert.deepEqual([byKey?.surface, byKey?.apiKeyId], ["GRAPHQL", created.createApiKey.apiKey.id]);
    assert.deepEqual(byKey?.changes, [{ field: "name", column: null, from: "Renamed over REST", to: "Renamed with a key" }]);
    assert.deepEqual([byRest?.surface, byRest?.apiKeyId], ["REST", null]);
    assert.deepEqual(byRest?.changes, [{ field: "name", column: null, from: "Final", to: "Renamed over REST" }]);
    assert.deepEqual([byGraphql?.surface, byGraphql?.apiKeyId], ["GRAPHQL", null]);
  });

  it("lists a board's changes newest first: its own, its groups', columns', items' and comments'", async () => {
    const owner = await token("OWNER");
    const board = publicBoard();
    await ok(owner, `mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }`, { input: { boardId: board.id, name: "Later" } });
    await ok(owner, `mutation($input: CreateColumnInput!) { createColumn(input: $input) { id } }`, { input: { boardId: board.id, title: "Risk", type: "TEXT" } });
    await ok(owner, `mutation($input: AddCommentInput!) { addComment(input: $input) { id } }`, { input: { itemId, body: "Looks right" } });
    // The seeded board has a history of its own (the seed's events) below what this file changed.
    const { entries, pages } = await all((after) => boardPage(owner, board.id, 4, after), 40);
    const whole = await boardPage(owner, board.id, 40);
    assert.deepEqual(
      entries.map((entry) => entry.id),
      whole?.nodes.map((entry) => entry.id),
      "pages of 4 list what one page lists",
    );
    assert.equal(pages, Math.ceil(entries.length / 4));
    assert.equal(new Set(entries.map((entry) => entry.id)).size, entries.length);
    const instants = entries.map((entry) => Date.parse(entry.occurredAt));
    assert.deepEqual(
      instants,
      [...instants].sort((a, b) => b - a),
    );
    assert.deepEqual(
      entries.slice(0, 3).map((entry) => entry.type),
      ["COMMENT_ADDED", "COLUMN_CREATED", "GROUP_CREATED"],
    );
    const comment = entries[0];
    assert.equal(comment?.itemId, itemId);
    assert.equal(comment?.item?.id, itemId);
    assert.deepEqual(
      comment?.changes.map((change) => [change.field, (change.to as { body: string }).body]),
      [["comment", "Looks right"]],
    );
    assert.ok(entries.filter((entry) => entry.itemId === itemId).length >= 10, "the item's changes are in its board's history");
  });

  it("serves both histories over REST as pages with Link: rel=next", async () => {
    const owner = await token("OWNER");
    const first = await rest.call("GET", `/api/v1/items/${itemId}/history?limit=4`, { token: owner });
    assert.equal(first.status, 200, first.text);
    const body = first.body as { data: Entry[]; nextCursor: string | null };
    assert.deepEqual(
      body.data.map((entry) => entry.version),
      [9, 8, 7, 6],
    );
    const next = nextLink(first);
    assert.ok(next && body.nextCursor);
    const second = await rest.call("GET", next, { token: owner });
    assert.deepEqual(
      (second.body as { data: Entry[] }).data.map((entry) => entry.version),
      [5, 4, 3, 2],
    );
    const board = await rest.call("GET", `/api/v1/boards/${publicBoard().id}/history?limit=2`, { token: owner });
    assert.equal(board.status, 200, board.text);
    assert.equal((board.body as { data: Entry[] }).data[0]?.type, "COMMENT_ADDED");
    assertProblem(await rest.call("GET", `/api/v1/items/${itemId}/history?cursor=garbage`, { token: owner }), 400);
  });

  it("refuses a cursor that is not one of the list's with BAD_USER_INPUT", async () => {
    const owner = await token("OWNER");
    const itemCursor = (await itemPage(owner, itemId, 1))?.pageInfo.endCursor;
    const boardCursor = (await boardPage(owner, publicBoard().id, 1))?.pageInfo.endCursor;
    const query = `query($id: ID!, $after: String) { board(id: $id) { history(after: $after) { nodes { id } } } }`;
    assert.deepEqual(codes(await harness.gql(owner, query, { id: publicBoard().id, after: itemCursor })), ["BAD_USER_INPUT"]);
    const itemQuery = `query($id: ID!, $after: String) { item(id: $id) { history(after: $after) { nodes { id } } } }`;
    assert.deepEqual(codes(await harness.gql(owner, itemQuery, { id: itemId, after: boardCursor })), ["BAD_USER_INPUT"]);
  });

  describe("who sees nothing", () => {
    before(async () => {
      const owner = await token("OWNER");
      const board = privateBoard();
      const created = await ok<{ createItem: { id: string } }>(owner, `mutation($input: CreateItemInput!) { createItem(input: $input) { id } }`, {
        input: { boardId: board.id, groupId: board.groupIds[0], name: "Confidential" },
      });
      privateItemId = created.createItem.id;
      await ok(owner, `mutation($input: UpdateItemInput!) { updateItem(input: $input) { id } }`, { input: { id: privateItemId, expectedVersion: 1, name: "Still confidential" } });
    });

    /** Everything a caller could ask about the private board's history, each answer reduced to what it revealed. */
    async function reach(bearer: string, boardId: string, id: string) {
      const asOf = new Date().toISOString();
      const item = await harness.gql(bearer, `query($id: ID!) { item(id: $id) { id history { nodes { id } } } }`, { id });
      const board = await harness.gql(bearer, `query($id: ID!) { board(id: $id) { history { nodes { id } } } }`, { id: boardId });
      const past = await harness.gql(bearer, `query($id: ID!, $at: DateTime) { item(id: $id, asOf: $at) { id name } }`, { id, at: asOf });
      const restItem = await rest.call("GET", `/api/v1/items/${id}/history`, { token: bearer });
      const restBoard = await rest.call("GET", `/api/v1/boards/${boardId}/history`, { token: bearer });
      return {
        item: [item.body.data?.item ?? null, codes(item)],
        board: [board.body.data?.board ?? null, codes(board)],
        asOf: [past.body.data?.item ?? null, codes(past)],
        rest: [restItem.status, restBoard.status],
      };
    }

    const nothing = { item: [null, []], board: [null, []], asOf: [null, []], rest: [404, 404] };

    it("the owner and the shared MEMBER see the private board's history (the control)", async () => {
      for (const bearer of [await token("OWNER"), await token("MEMBER")]) {
        const seen = await reach(bearer, privateBoard().id, privateItemId);
        assert.deepEqual(seen.rest, [200, 200]);
        assert.equal((seen.asOf[0] as { name: string }).name, "Still confidential");
      }
    });

    it("another organisation's OWNER: null and 404, the same as for ids that do not exist", async () => {
      assert.deepEqual(await reach(await token("OWNER", 1), privateBoard().id, privateItemId), nothing);
      assert.deepEqual(await reach(await token("OWNER", 1), publicBoard().id, itemId), nothing);
      assert.deepEqual(await reach(await token("OWNER", 1), "00000000-0000-4000-8000-000000000000", "00000000-0000-4000-8000-000000000000"), nothing);
    });

    it("a GUEST without the share, a VIEWER and a MEMBER without the share of a private board: null and 404", async () => {
      assert.deepEqual(await reach(await token("GUEST"), privateBoard().id, privateItemId), nothing);
      assert.deepEqual(await reach(await token("VIEWER"), privateBoard().id, privateItemId), nothing);
      assert.deepEqual(await reach(outsider.token, privateBoard().id, privateItemId), nothing);
      // The GUEST's own shared board answers (the same calls are not refused across the board).
      assert.deepEqual((await reach(await token("GUEST"), publicBoard().id, itemId)).rest, [200, 200]);
    });

    it("Board.history checks the board itself when reached as an entity of another subgraph", async () => {
      const peer = createPeerClient(harness.stack.subgraphs.items.url, TEST_SIGNING_SECRET);
      const as = (userId: string, role: Role) => ({ identity: { userId, organizationId: acme().id, role }, correlationId: `history-${role}` });
      const selection = "history { nodes { id } }";
      assert.deepEqual(await peer.entities(as(outsider.id, "MEMBER"), "Board", [privateBoard().id], selection), [{ history: null }]);
      assert.deepEqual(await peer.entities(as(acme().userIdsByRole.GUEST, "GUEST"), "Board", [privateBoard().id], selection), [{ history: null }]);
      const [owner] = await peer.entities<{ history: { nodes: unknown[] } }>(as(acme().userIdsByRole.OWNER, "OWNER"), "Board", [privateBoard().id], selection);
      assert.ok((owner?.history.nodes.length ?? 0) >= 2);
    });

    it("a board unshared after the fact hides its history from then on", async () => {
      const owner = await token("OWNER");
      const share = { boardId: privateBoard().id, userId: outsider.id };
      await ok(owner, `mutation($input: ShareBoardInput!) { shareBoard(input: $input) { id } }`, { input: { ...share, permission: "VIEWER" } });
      const shared = await reach(outsider.token, privateBoard().id, privateItemId);
      assert.deepEqual(shared.rest, [200, 200]);
      assert.equal((shared.board[0] as { history: Page }).history.nodes[0]?.id !== undefined, true);
      await ok(owner, `mutation($input: UnshareBoardInput!) { unshareBoard(input: $input) { id } }`, { input: share });
      assert.deepEqual(await reach(outsider.token, privateBoard().id, privateItemId), nothing);
      const types = (await boardPage(owner, privateBoard().id, 2))?.nodes.map((entry) => entry.type);
      assert.deepEqual(types, ["BOARD_UNSHARED", "BOARD_SHARED"]);
    });
  });
});
