import DataLoader from "dataloader";
import type { BaseContext } from "../../shared/context.ts";
import { requireIdentity } from "../../shared/authorization.ts";
import { byId, groupedBy } from "../../shared/loaders.ts";
import type { PeerClient } from "../../shared/peer.ts";
import { createItemLists, type ItemLists } from "./lists.ts";
import { accessSql, createBoardAccessLoader, judgeAccess, type BoardFacts, type StoredAccess } from "./board-access.ts";
import { Prisma } from "../../../generated/prisma/client.ts";
import { queryRaw } from "../../../platform/db.ts";
import type { ColumnValueModel, ItemAssigneeModel, ItemModel, SubitemModel } from "../../../generated/prisma/models.ts";

export type { BoardFacts } from "./board-access.ts";

export interface GroupFacts {
  id: string;
  archivedAt: string | null;
  board: { id: string };
}

export interface ColumnFacts {
  id: string;
  type: "TEXT" | "STATUS" | "PERSON" | "DATE" | "NUMBER" | "DROPDOWN" | "TIMELINE";
  settings: unknown;
  archivedAt: string | null;
  board: { id: string };
}

export interface ItemsLoaders {
  readonly item: DataLoader<string, ItemModel | null>;
  readonly assigneesOfItem: DataLoader<string, ItemAssigneeModel[]>;
  readonly columnValuesOfItem: DataLoader<string, ColumnValueModel[]>;
  readonly subitemsOfItem: DataLoader<string, SubitemModel[]>;
  /** What the caller may do with a board (board-access.ts): null when they may not read it. */
  readonly board: DataLoader<string, BoardFacts | null>;
  readonly group: DataLoader<string, GroupFacts | null>;
  readonly column: DataLoader<string, ColumnFacts | null>;
  /** Users of the caller's organisation, from the users subgraph. */
  readonly user: DataLoader<string, { id: string } | null>;
}

export interface ItemsContext extends BaseContext {
  readonly loaders: ItemsLoaders;
  readonly lists: ItemLists;
}

export interface ItemsPeers {
  readonly projects: PeerClient | null;
  readonly users: PeerClient | null;
}

function peerLoader<T>(base: BaseContext, peer: PeerClient | null, typename: string, selection: string) {
  return new DataLoader<string, T | null>(async (ids) => {
    if (!peer) throw new Error(`items subgraph has no peer for ${typename}`);
    return peer.entities<T>({ identity: requireIdentity(base.identity), correlationId: base.correlationId }, typename, ids, selection);
  });
}

/** An item row read with its board's access columns (`accessSql`), without them. */
function itemOf(row: ItemModel & StoredAccess): ItemModel {
  const { accessBoardId, accessOrganizationId, accessKind, accessOwnerId, accessArchived, accessVersion, accessShare, accessHead, ...item } = row;
  return item;
}

export function createItemsContext(base: BaseContext, peers: ItemsPeers): ItemsContext {
  const { prisma } = base;
  const caller = () => requireIdentity(base.identity);
  const org = () => caller().organizationId;
  const access = { prisma, projects: peers.projects, identity: caller, correlationId: base.correlationId };
  const board = createBoardAccessLoader(access);
  return {
    ...base,
    lists: createItemLists(prisma, org),
    loaders: {
      // With what the caller may do with the items' boards, in the same statement: reading or
      // changing an item always asks that next, and the answer then needs no round trip of its own.
      item: byId(async (ids) => {
        const boardAccess = accessSql(Prisma.sql`i."boardId"`, caller().userId);
        const rows = await queryRaw<ItemModel & StoredAccess>(
          prisma,
          Prisma.sql`SELECT i.*, ${boardAccess.columns} FROM items."Item" i ${boardAccess.joins}
          WHERE i."id" = ANY(CAST(${ids} AS uuid[])) AND i."organizationId" = CAST(${org()} AS uuid) AND i."deletedAt" IS NULL`,
        );
        for (const [boardId, facts] of await judgeAccess(access, rows)) board.prime(boardId, facts);
        return rows.map(itemOf);
      }),
      assigneesOfItem: groupedBy(
        (itemIds) =>
          prisma.itemAssignee.findMany({
            where: { itemId: { in: itemIds }, organizationId: org() },
            orderBy: [{ createdAt: "asc" }, { userId: "asc" }],
          }),
        (assignee) => assignee.itemId,
      ),
      columnValuesOfItem: groupedBy(
        (itemIds) => prisma.columnValue.findMany({ where: { itemId: { in: itemIds }, organizationId: org() } }),
        (value) => value.itemId,
      ),
      subitemsOfItem: groupedBy(
        (itemIds) =>
          prisma.subitem.findMany({
            where: { parentItemId: { in: itemIds }, organizationId: org(), deletedAt: null },
            orderBy: [{ position: "asc" }, { id: "asc" }],
          }),
        (subitem) => subitem.parentItemId,
      ),
      board,
      group: peerLoader<GroupFacts>(base, peers.projects, "Group", "id archivedAt board { id }"),
      column: peerLoader<ColumnFacts>(base, peers.projects, "Column", "id type settings archivedAt board { id }"),
      user: peerLoader<{ id: string }>(base, peers.users, "User", "id"),
    },
  };
}
