import DataLoader from "dataloader";
import type { BaseContext } from "../../shared/context.ts";
import { requireIdentity } from "../../shared/authorization.ts";
import { byId, groupedBy } from "../../shared/loaders.ts";
import type { PeerClient } from "../../shared/peer.ts";
import { createItemLists, type ItemLists } from "./lists.ts";
import { createBoardAccessLoader, type BoardFacts } from "./board-access.ts";
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

export function createItemsContext(base: BaseContext, peers: ItemsPeers): ItemsContext {
  const { prisma } = base;
  const org = () => requireIdentity(base.identity).organizationId;
  return {
    ...base,
    lists: createItemLists(prisma, org),
    loaders: {
      item: byId((ids) => prisma.item.findMany({ where: { id: { in: ids }, organizationId: org(), deletedAt: null } })),
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
      board: createBoardAccessLoader({ prisma, projects: peers.projects, identity: () => requireIdentity(base.identity), correlationId: base.correlationId }),
      group: peerLoader<GroupFacts>(base, peers.projects, "Group", "id archivedAt board { id }"),
      column: peerLoader<ColumnFacts>(base, peers.projects, "Column", "id type settings archivedAt board { id }"),
      user: peerLoader<{ id: string }>(base, peers.users, "User", "id"),
    },
  };
}
