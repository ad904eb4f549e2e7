// Items answers "may this caller read / write this board?" itself, from board facts it folds from
// the boards' events in the log (subgraphs/items/src/board-access.ts). These tests hold it to the
// projects subgraph's rule: every change of access counts from the commit of its transaction, with
// no event pipeline running, for every role and across organisations.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { TEST_SIGNING_SECRET, codes, startHarness, type Harness } from "./support/harness.ts";
import { foldBoardEvents, type BoardEvent } from "../subgraphs/items/src/board-access.ts";
import { createPeerClient } from "../subgraphs/shared/peer.ts";

const ORG = "00000000-0000-4000-8000-000000000001";
const OWNER = "00000000-0000-4000-8000-0000000000aa";
const USER = "00000000-0000-4000-8000-0000000000bb";
const event = (eventType: string, version: number, data: Record<string, unknown>): BoardEvent => ({ eventType, version, organizationId: ORG, data });

describe("board access facts: the fold", () => {
  const created = event("project.created", 1, { boardId: "b", kind: "PUBLIC", ownerId: OWNER });

  it("builds a board from its creation event and later changes, the last share change of a user winning", () => {
    const folded = foldBoardEvents(undefined, [
      created,
      event("project.member.added", 2, { boardId: "b", userId: USER, permission: "EDITOR" }),
      event("project.updated", 3, { boardId: "b", changes: { kind: { from: "PUBLIC", to: "PRIVATE" } } }),
      event("project.member.added", 4, { boardId: "b", userId: USER, permission: "VIEWER" }),
      event("project.member.removed", 5, { boardId: "b", userId: USER }),
      event("project.archived", 6, { boardId: "b" }),
    ]);
    assert.deepEqual(folded?.board, { organizationId: ORG, kind: "PRIVATE", ownerId: OWNER, archived: true, version: 6 });
    assert.deepEqual(
      [...(folded?.shares ?? [])],
      [
        [OWNER, "OWNER"],
        [USER, null],
      ],
    );
  });

  it("keeps the kind when an update changes something else", () => {
    const stored = { organizationId: ORG, kind: "SHAREABLE", ownerId: OWNER, archived: false, version: 4 };
    assert.deepEqual(foldBoardEvents(stored, [event("project.updated", 5, { boardId: "b", changes: { name: { from: "a", to: "b" } } })])?.board, { ...stored, version: 5 });
  });

  it("gives up (ask projects) without facts or a creation event, and on an event it does not know", () => {
    assert.equal(foldBoardEvents(undefined, []), null);
    assert.equal(foldBoardEvents(undefined, [event("project.archived", 2, { boardId: "b" })]), null);
    const stored = { organizationId: ORG, kind: "PUBLIC", ownerId: OWNER, archived: false, version: 1 };
    assert.equal(foldBoardEvents(stored, [event("project.transferred", 2, { boardId: "b" })]), null);
    assert.equal(foldBoardEvents(stored, [event("project.member.added", 2, { boardId: "b", userId: USER })]), null);
  });

  it("gives up on a missing version: the event not seen could have been an unshare", () => {
    const stored = { organizationId: ORG, kind: "PRIVATE", ownerId: OWNER, archived: false, version: 3 };
    assert.equal(foldBoardEvents(stored, [event("project.member.added", 5, { boardId: "b", userId: USER, permission: "EDITOR" })]), null, "after the stored version");
    assert.equal(
      foldBoardEvents(undefined, [created, event("project.member.added", 2, { boardId: "b", userId: USER, permission: "EDITOR" }), event("project.archived", 4, { boardId: "b" })]),
      null,
      "between two events",
    );
    assert.ok(foldBoardEvents(stored, [event("project.member.added", 4, { boardId: "b", userId: USER, permission: "EDITOR" })]), "the next version folds");
  });
});

describe("board access facts: items' reads and writes (Postgres, the whole stack, no event pipeline)", () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness("boardaccess");
  });
  after(() => harness?.dispose());

  const acme = () => harness.seed.organizations[0];
  const privateBoard = () => acme().boards[1];
  const gql = async (role: "OWNER" | "MEMBER" | "VIEWER" | "GUEST", query: string, variables?: Record<string, unknown>, org: 0 | 1 = 0) =>
    harness.gql(await harness.token(org, role), query, variables);

  async function rename(role: "OWNER" | "MEMBER" | "VIEWER" | "GUEST", itemId: string, org: 0 | 1 = 0): Promise<string | undefined> {
    const item = await harness.prisma.item.findUniqueOrThrow({ where: { id: itemId }, select: { version: true } });
    const result = await gql(
      role,
      `mutation($input: UpdateItemInput!) { updateItem(input: $input) { id } }`,
      { input: { id: itemId, expectedVersion: item.version, name: `renamed by ${role}` } },
      org,
    );
    return codes(result)[0] ?? "OK";
  }
  const canRead = async (role: "MEMBER" | "GUEST", itemId: string) => ((await gql(role, `query($id: ID!) { item(id: $id) { id } }`, { id: itemId })).body.data?.item ?? null) !== null;
  const boardVersion = async (boardId: string) => (await harness.prisma.board.findUniqueOrThrow({ where: { id: boardId }, select: { version: true } })).version;
  const owner = (query: string, input: Record<string, unknown>) => gql("OWNER", query, { input });
  const share = (userId: string, permission: string) => owner(`mutation($input: ShareBoardInput!) { shareBoard(input: $input) { id } }`, { boardId: privateBoard().id, userId, permission });
  const unshare = (userId: string) => owner(`mutation($input: UnshareBoardInput!) { unshareBoard(input: $input) { id } }`, { boardId: privateBoard().id, userId });

  it("follows every share, kind and archive change of a private board at once, for a MEMBER and a GUEST", async () => {
    const board = privateBoard();
    const item = board.itemIds[0]!;
    const member = acme().userIdsByRole.MEMBER;
    const guest = acme().userIdsByRole.GUEST;
    for (const userId of [member, guest]) if (board.members.some((m) => m.userId === userId)) await unshare(userId);

    assert.equal(await rename("MEMBER", item), "NOT_FOUND", "a MEMBER without the share");
    assert.equal(await canRead("MEMBER", item), false);
    assert.equal(await canRead("GUEST", item), false, "a GUEST without the share");
    assert.equal(await rename("OWNER", item), "OK");

    await share(member, "EDITOR");
    assert.equal(await rename("MEMBER", item), "OK", "shared as EDITOR");
    await share(member, "VIEWER");
    assert.equal(await rename("MEMBER", item), "FORBIDDEN", "shared as VIEWER");
    assert.equal(await canRead("MEMBER", item), true);
    await unshare(member);
    assert.equal(await rename("MEMBER", item), "NOT_FOUND", "unshared");
    assert.equal(await canRead("MEMBER", item), false);

    await share(guest, "EDITOR");
    assert.equal(await canRead("GUEST", item), true, "a GUEST with the share reads");
    assert.equal(await rename("GUEST", item), "FORBIDDEN", "but a GUEST never writes");
    await unshare(guest);
    assert.equal(await canRead("GUEST", item), false);

    const made = await owner(`mutation($input: UpdateBoardInput!) { updateBoard(input: $input) { id } }`, { id: board.id, expectedVersion: await boardVersion(board.id), kind: "PUBLIC" });
    assert.equal(made.body.errors, undefined);
    assert.equal(await rename("MEMBER", item), "OK", "the board made public");
    assert.equal(await canRead("GUEST", item), false, "public is not for guests");
    await owner(`mutation($input: UpdateBoardInput!) { updateBoard(input: $input) { id } }`, { id: board.id, expectedVersion: await boardVersion(board.id), kind: "PRIVATE" });
    assert.equal(await rename("MEMBER", item), "NOT_FOUND", "private again");

    // What items keeps is what it folded: the board's version and the shares now.
    const facts = await harness.prisma.boardAccess.findUniqueOrThrow({ where: { boardId: board.id } });
    assert.equal(facts.version, await boardVersion(board.id));
    assert.equal(facts.kind, "PRIVATE");
    const shares = await harness.prisma.boardAccessShare.findMany({ where: { boardId: board.id }, orderBy: { userId: "asc" } });
    const truth = await harness.prisma.boardMember.findMany({ where: { boardId: board.id }, orderBy: { userId: "asc" } });
    assert.deepEqual(
      shares.map((s) => [s.userId, s.permission]),
      truth.map((m) => [m.userId, m.permission]),
    );

    await owner(`mutation($input: VersionedInput!) { archiveBoard(input: $input) { id } }`, { id: board.id, expectedVersion: await boardVersion(board.id) });
    assert.equal(await rename("OWNER", item), "FORBIDDEN", "an archived board");
  });

  it("resolves an Item entity (a notification's item) only for a caller who may read its board", async () => {
    const board = privateBoard();
    const itemId = board.itemIds[1]!;
    const peer = createPeerClient(harness.stack.subgraphs.items.url, TEST_SIGNING_SECRET);
    const as = (role: "OWNER" | "MEMBER") => ({ identity: { userId: acme().userIdsByRole[role], organizationId: acme().id, role }, correlationId: `entity-${role}` });
    // The test above left the MEMBER without the share of this private board.
    assert.equal(await harness.prisma.boardMember.count({ where: { boardId: board.id, userId: acme().userIdsByRole.MEMBER } }), 0);
    assert.deepEqual(await peer.entities(as("MEMBER"), "Item", [itemId], "id"), [null]);
    assert.deepEqual(await peer.entities(as("OWNER"), "Item", [itemId], "id"), [{ id: itemId }]);
  });

  it("asks projects when the events after its facts are gone from the log (retention, a pruned outbox): an unshare still counts", async () => {
    const workspace = await harness.prisma.workspace.findFirstOrThrow({ where: { organizationId: acme().id } });
    const created = await gql("OWNER", `mutation($input: CreateBoardInput!) { createBoard(input: $input) { id } }`, {
      input: { workspaceId: workspace.id, name: "Forgotten history", kind: "PRIVATE" },
    });
    const boardId = (created.body.data as { createBoard: { id: string } }).createBoard.id;
    const group = await gql("OWNER", `mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }`, { input: { boardId, name: "G" } });
    const groupId = (group.body.data as { createGroup: { id: string } }).createGroup.id;
    const item = await gql("OWNER", `mutation($input: CreateItemInput!) { createItem(input: $input) { id } }`, { input: { boardId, groupId, name: "secret" } });
    const itemId = (item.body.data as { createItem: { id: string } }).createItem.id;
    const member = acme().userIdsByRole.MEMBER;
    await owner(`mutation($input: ShareBoardInput!) { shareBoard(input: $input) { id } }`, { boardId, userId: member, permission: "EDITOR" });
    assert.equal(await canRead("MEMBER", itemId), true, "shared: the facts items stores say so");
    const shared = (await harness.prisma.boardAccess.findUniqueOrThrow({ where: { boardId } })).version;

    await owner(`mutation($input: UnshareBoardInput!) { unshareBoard(input: $input) { id } }`, { boardId, userId: member });
    // The unshare's event is gone from everywhere items could read it; the log's head still says there was one.
    await harness.prisma.$executeRaw`DELETE FROM eventstore."Event" WHERE "aggregateId" = ${boardId}::uuid AND "version" > ${shared}`;
    await harness.prisma.$executeRaw`DELETE FROM events."OutboxEvent" WHERE "aggregateId" = ${boardId}::uuid AND "aggregateVersion" > ${shared}`;
    assert.equal(await canRead("MEMBER", itemId), false, "unshared, though no event above the stored facts is left");
    assert.equal((await harness.prisma.boardAccess.findUniqueOrThrow({ where: { boardId } })).version, await boardVersion(boardId), "projects' facts are stored");
  });

  it("refuses a VIEWER and another organisation's OWNER, and writes nothing", async () => {
    const item = acme().boards[0].itemIds[0]!;
    const outbox = await harness.prisma.outboxEvent.count();
    assert.equal(await rename("VIEWER", item), "FORBIDDEN");
    assert.equal(await rename("OWNER", item, 1), "NOT_FOUND");
    assert.equal(await harness.prisma.outboxEvent.count(), outbox);
  });

  it("knows a board created through the API from its creation event", async () => {
    const workspace = await harness.prisma.workspace.findFirstOrThrow({ where: { organizationId: acme().id } });
    const created = await gql("MEMBER", `mutation($input: CreateBoardInput!) { createBoard(input: $input) { id groups { id } } }`, {
      input: { workspaceId: workspace.id, name: "Fresh", kind: "PRIVATE" },
    });
    const board = created.body.data?.createBoard as { id: string; groups: { id: string }[] };
    assert.ok(board, JSON.stringify(created.body.errors));
    let groupId = board.groups[0]?.id;
    if (!groupId) {
      const group = await gql("MEMBER", `mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }`, { input: { boardId: board.id, name: "G" } });
      groupId = (group.body.data as { createGroup: { id: string } }).createGroup.id;
    }
    const item = await gql("MEMBER", `mutation($input: CreateItemInput!) { createItem(input: $input) { id } }`, { input: { boardId: board.id, groupId, name: "first" } });
    assert.equal(item.body.errors, undefined);
    assert.equal((await harness.prisma.boardAccess.findUniqueOrThrow({ where: { boardId: board.id } })).version, await boardVersion(board.id));
    const itemId = (item.body.data as { createItem: { id: string } }).createItem.id;
    assert.equal(await canRead("GUEST", itemId), false);
    assert.equal(await rename("OWNER", itemId), "OK", "an admin writes on any board of the organisation");
  });
});
