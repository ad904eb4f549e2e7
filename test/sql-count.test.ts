import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { startHarness, type Harness } from "./support/harness.ts";
import type { BoardWithItemsQuery, OrgMembersBoardsItemsQuery } from "./generated/operations.ts";

const operations = await readFile(new URL("./operations/federated.graphql", import.meta.url), "utf8");

/** A board with `count` items, each with two assignees and three column values. */
async function boardWithItems(harness: Harness, count: number): Promise<string> {
  const acme = harness.seed.organizations[0];
  const organizationId = acme.id;
  const boardId = randomUUID();
  const groupId = randomUUID();
  const columns = [randomUUID(), randomUUID(), randomUUID()] as const;
  await harness.prisma.board.create({
    data: {
      id: boardId,
      organizationId,
      workspaceId: acme.workspaceId,
      name: `${count} items`,
      ownerId: acme.userIdsByRole.OWNER,
      groups: { create: { id: groupId, organizationId, name: "All", position: 1 } },
      columns: {
        create: [
          { id: columns[0], organizationId, title: "Notes", type: "TEXT", position: 1 },
          { id: columns[1], organizationId, title: "Estimate", type: "NUMBER", position: 2 },
          { id: columns[2], organizationId, title: "Due", type: "DATE", position: 3 },
        ],
      },
    },
  });
  const items = Array.from({ length: count }, (_, index) => ({
    id: randomUUID(),
    organizationId,
    boardId,
    groupId,
    name: `Item ${index}`,
    position: index + 1,
    creatorId: acme.userIdsByRole.OWNER,
  }));
  await harness.prisma.item.createMany({ data: items });
  const users = acme.users.slice(0, 4);
  await harness.prisma.itemAssignee.createMany({
    data: items.flatMap((item, index) => [users[index % 4], users[(index + 1) % 4]].map((user) => ({ organizationId, itemId: item.id, userId: user?.id ?? "" }))),
  });
  await harness.prisma.columnValue.createMany({
    data: items.flatMap((item, index) => [
      { organizationId, itemId: item.id, columnId: columns[0], value: `note ${index}` },
      { organizationId, itemId: item.id, columnId: columns[1], value: index },
      { organizationId, itemId: item.id, columnId: columns[2], value: { date: "2026-12-01" } },
    ]),
  });
  return boardId;
}

describe("SQL statements per request", () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness("sqlcount", { itemsPerBoard: 5 });
  });
  after(() => harness?.dispose());

  it("is the same for a board of 10 items and of 1,000 items, with assignees and column values", async () => {
    const token = await harness.token(0, "OWNER");
    const counts: Record<number, number> = {};
    for (const size of [10, 1000]) {
      const boardId = await boardWithItems(harness, size);
      harness.sql.reset();
      const result = await harness.gql(token, operations, { id: boardId, first: 1000 }, "BoardWithItems");
      assert.equal(result.body.errors, undefined, JSON.stringify(result.body.errors));
      const { board } = result.body.data as BoardWithItemsQuery;
      assert.ok(board?.items);
      assert.equal(board.items.nodes.length, size);
      assert.ok(board.items.nodes.every((item) => item.assignees.length === 2 && item.columnValues.length === 3));
      counts[size] = harness.sql.count;
    }
    console.log(`SQL statements: 10 items -> ${counts[10]}, 1000 items -> ${counts[1000]}`);
    assert.equal(counts[1000], counts[10]);
    assert.ok((counts[10] ?? 0) <= 12, `expected a small constant, got ${counts[10]}`);
  });

  it("does not grow with the number of members, boards and items in org -> members -> boards -> items", async () => {
    const token = await harness.token(0, "OWNER");
    const counts: number[] = [];
    for (const first of [1, 7]) {
      harness.sql.reset();
      const result = await harness.gql(token, operations, { membersFirst: first, boardsFirst: 10, itemsFirst: 10 }, "OrgMembersBoardsItems");
      assert.equal(result.body.errors, undefined, JSON.stringify(result.body.errors));
      const { organization } = result.body.data as OrgMembersBoardsItemsQuery;
      assert.equal(organization.members.nodes.length, first);
      counts.push(harness.sql.count);
    }
    console.log(`SQL statements: 1 member -> ${counts[0]}, 7 members -> ${counts[1]}`);
    assert.equal(counts[1], counts[0]);
  });
});
