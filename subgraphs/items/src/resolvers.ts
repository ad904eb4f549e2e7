import { randomUUID } from "node:crypto";
import { GraphQLError } from "graphql";
import { DateTimeResolver } from "graphql-scalars";
import type { Resolvers } from "./generated/resolvers.ts";
import type { ColumnFacts, ItemsContext } from "./context.ts";
import type { Tx } from "../../../platform/db.ts";
import type { Identity } from "../../../platform/identity.ts";
import type { ItemModel } from "../../../generated/prisma/models.ts";
import { Prisma } from "../../../generated/prisma/client.ts";
import { requireWriter } from "../../shared/authorization.ts";
import { badInput, forbidden, notFound } from "../../shared/errors.ts";
import { change, compact, recordEvent, requestOrigin, type EventSource } from "../../shared/outbox.ts";
import { versionedStatement, versionedUpdate, type VersionedEvent } from "../../shared/versioned-write.ts";
import { BoundedJSON, requireId, requireIds, requireText, requireVersion } from "../../shared/validation.ts";
import { parseColumnValue, personIds } from "./column-values.ts";
import { foldedParts, itemAsOf } from "./history/as-of.ts";
import { historyResolvers } from "./history/resolvers.ts";
import { searchResolvers } from "./search/resolvers.ts";

/** Tries of createSubitem against concurrent changes of its parent (it takes no expectedVersion). */
const SUBITEM_ATTEMPTS = 5;

function origin(context: ItemsContext): EventSource {
  return requestOrigin(context, "items");
}

/** The board must be one the caller may write to; the projects subgraph is the judge. */
async function requireWritableBoard(context: ItemsContext, boardId: string): Promise<void> {
  const board = await context.loaders.board.load(boardId);
  if (!board) throw notFound("Board", boardId);
  if (!board.viewerCanWrite) throw forbidden(`You cannot change board ${boardId}`);
}

async function requireGroupOf(context: ItemsContext, boardId: string, groupId: string): Promise<void> {
  const group = await context.loaders.group.load(groupId);
  if (!group || group.board.id !== boardId) throw notFound("Group", groupId);
  if (group.archivedAt) throw badInput(`Group ${groupId} is archived`, "groupId");
}

async function requireColumnOf(context: ItemsContext, boardId: string, columnId: string): Promise<ColumnFacts> {
  const column = await context.loaders.column.load(columnId);
  if (!column || column.board.id !== boardId) throw notFound("Column", columnId);
  if (column.archivedAt) throw badInput(`Column ${columnId} is archived`, "columnId");
  return column;
}

async function requireUsers(context: ItemsContext, userIds: readonly string[], field: string): Promise<void> {
  const users = await context.loaders.user.loadMany(userIds);
  const missing = userIds.filter((_id, index) => !users[index] || users[index] instanceof Error);
  if (missing.length > 0) throw badInput(`Unknown users: ${missing.join(", ")}`, field);
}

/** An item of the caller's organisation on a board they may write to. */
async function writableItem(context: ItemsContext, itemId: string): Promise<ItemModel> {
  const item = await context.loaders.item.load(itemId);
  if (!item) throw notFound("Item", itemId);
  await requireWritableBoard(context, item.boardId);
  return item;
}

/** Bumps the item's version if it is still `expected` (or unchanged since read, when none given). */
async function bumpItem(
  tx: Tx,
  caller: Identity,
  item: ItemModel,
  expectedVersion: number | null | undefined,
  data: Prisma.ItemUpdateManyMutationInput = {},
): Promise<ItemModel> {
  return versionedUpdate(tx.item, {
    type: "Item",
    id: item.id,
    expectedVersion: expectedVersion == null ? item.version : requireVersion(expectedVersion),
    where: { organizationId: caller.organizationId, deletedAt: null },
    data,
    current: { id: item.id, deletedAt: null },
  });
}

async function logActivity(tx: Tx, caller: Identity, item: ItemModel, action: string, data: Prisma.InputJsonObject) {
  await tx.activityLog.create({
    data: { organizationId: caller.organizationId, boardId: item.boardId, itemId: item.id, userId: caller.userId, action, data },
  });
}

/**
 * A change of the item's own columns, its activity entry and its event, in one statement
 * (`versionedStatement`): the hot path of every rename and delete.
 */
async function changeItem(
  context: ItemsContext,
  caller: Identity,
  before: ItemModel,
  expectedVersion: number,
  change: {
    readonly set: Prisma.Sql;
    readonly action: string;
    readonly activity: Prisma.InputJsonObject;
    readonly event: VersionedEvent<Prisma.InputJsonObject>;
  },
): Promise<ItemModel> {
  const activity = Prisma.sql`INSERT INTO items."ActivityLog" ("id", "organizationId", "boardId", "itemId", "userId", "action", "data")
    SELECT CAST(${randomUUID()} AS uuid), c."organizationId", c."boardId", c."id", CAST(${caller.userId} AS uuid), ${change.action}, CAST(${JSON.stringify(change.activity)} AS jsonb)
    FROM changed c`;
  return versionedStatement<ItemModel, Prisma.InputJsonObject>(context.prisma, origin(context), {
    type: "Item",
    id: before.id,
    expectedVersion,
    table: `items."Item"`,
    set: change.set,
    where: Prisma.sql`"organizationId" = CAST(${caller.organizationId} AS uuid) AND "deletedAt" IS NULL`,
    alongside: [activity],
    event: change.event,
    current: () =>
      context.prisma.item.findFirst({ where: { id: before.id, deletedAt: null, organizationId: caller.organizationId }, select: { version: true } }),
  });
}

async function endOfGroup(tx: Tx, boardId: string, groupId: string): Promise<number> {
  const { _max } = await tx.item.aggregate({ where: { boardId, groupId, deletedAt: null }, _max: { position: true } });
  return (_max.position ?? 0) + 1;
}

export const resolvers: Resolvers = {
  DateTime: DateTimeResolver,
  JSON: BoundedJSON,

  Query: {
    ...searchResolvers.Query,
    async item(_parent, { id, asOf }, context) {
      if (asOf != null) return itemAsOf(context, requireId(id, "id"), new Date(asOf));
      const item = await context.loaders.item.load(requireId(id, "id"));
      // Readable only on a board the caller may read (private boards, guests).
      if (!item || !(await context.loaders.board.load(item.boardId))) return null;
      return item;
    },
  },

  Mutation: {
    async createItem(_parent, { input }, context) {
      const caller = requireWriter(context.identity);
      const boardId = requireId(input.boardId, "boardId");
      const groupId = requireId(input.groupId, "groupId");
      const name = requireText(input.name, "name", { max: 500 });
      const assigneeIds = requireIds(input.assigneeIds ?? [], "assigneeIds", 50);
      if ((input.columnValues?.length ?? 0) > 100) throw badInput("columnValues accepts at most 100 values", "columnValues");
      await requireWritableBoard(context, boardId);
      await requireGroupOf(context, boardId, groupId);
      const values = await Promise.all(
        (input.columnValues ?? []).map(async ({ columnId, value }) => {
          const column = await requireColumnOf(context, boardId, requireId(columnId, "columnValues.columnId"));
          return { columnId: column.id, value: value === null || value === undefined ? null : parseColumnValue(column, value) };
        }),
      );
      const set = values.filter((entry): entry is { columnId: string; value: Prisma.InputJsonValue } => entry.value !== null);
      await requireUsers(context, [...new Set([...assigneeIds, ...set.flatMap((entry) => personIds(entry.value))])], "assigneeIds");
      return context.prisma.$transaction(async (tx) => {
        const position = await endOfGroup(tx, boardId, groupId);
        const organizationId = caller.organizationId;
        const item = await tx.item.create({
          data: {
            organizationId,
            boardId,
            groupId,
            name,
            position,
            creatorId: caller.userId,
            assignees: { create: assigneeIds.map((userId) => ({ organizationId, userId })) },
            columnValues: { create: set.map((entry) => ({ organizationId, columnId: entry.columnId, value: entry.value })) },
          },
        });
        await logActivity(tx, caller, item, "item.created", { name });
        await recordEvent(tx, origin(context), {
          eventType: "project.item.created",
          aggregateType: "Item",
          aggregateId: item.id,
          version: item.version,
          data: {
            boardId,
            groupId,
            itemId: item.id,
            name,
            position,
            assigneeIds,
            columnValues: set.map((entry) => ({ columnId: entry.columnId, value: entry.value })),
          },
        });
        return item;
      });
    },

    async updateItem(_parent, { input }, context) {
      const caller = requireWriter(context.identity);
      const id = requireId(input.id, "id");
      const expectedVersion = requireVersion(input.expectedVersion);
      const name = requireText(input.name, "name", { max: 500 });
      const before = await writableItem(context, id);
      return changeItem(context, caller, before, expectedVersion, {
        set: Prisma.sql`"name" = ${name}`,
        action: "item.updated",
        activity: { name: { from: before.name, to: name } },
        event: { eventType: "project.item.updated", data: { boardId: before.boardId, itemId: id, changes: compact({ name: change(before.name, name) }) } },
      });
    },

    async moveItem(_parent, { input }, context) {
      const caller = requireWriter(context.identity);
      const id = requireId(input.id, "id");
      const expectedVersion = requireVersion(input.expectedVersion);
      const before = await writableItem(context, id);
      const groupId = input.groupId ? requireId(input.groupId, "groupId") : before.groupId;
      const afterItemId = input.afterItemId ? requireId(input.afterItemId, "afterItemId") : null;
      if (afterItemId === id) throw badInput("An item cannot be placed after itself", "afterItemId");
      if (groupId !== before.groupId) await requireGroupOf(context, before.boardId, groupId);
      return context.prisma.$transaction(async (tx) => {
        let position: number;
        if (afterItemId) {
          const anchor = await tx.item.findFirst({
            where: { id: afterItemId, boardId: before.boardId, groupId, organizationId: caller.organizationId, deletedAt: null },
          });
          if (!anchor) throw notFound("Item", afterItemId);
          const next = await tx.item.findFirst({
            where: { boardId: before.boardId, groupId, deletedAt: null, position: { gt: anchor.position }, id: { not: id } },
            orderBy: { position: "asc" },
          });
          position = next ? (anchor.position + next.position) / 2 : anchor.position + 1;
        } else {
          position = await endOfGroup(tx, before.boardId, groupId);
        }
        const item = await bumpItem(tx, caller, before, expectedVersion, { groupId, position });
        const move = { from: { groupId: before.groupId, position: before.position }, to: { groupId, position } };
        await logActivity(tx, caller, item, "item.moved", move);
        await recordEvent(tx, origin(context), {
          eventType: "project.item.moved",
          aggregateType: "Item",
          aggregateId: id,
          version: item.version,
          data: { boardId: item.boardId, itemId: id, ...move },
        });
        return item;
      });
    },

    async deleteItem(_parent, { input }, context) {
      const caller = requireWriter(context.identity);
      const id = requireId(input.id, "id");
      const expectedVersion = requireVersion(input.expectedVersion);
      const before = await writableItem(context, id);
      await changeItem(context, caller, before, expectedVersion, {
        set: Prisma.sql`"deletedAt" = now()`,
        action: "item.deleted",
        activity: { name: before.name },
        event: { eventType: "project.item.deleted", data: { boardId: before.boardId, groupId: before.groupId, itemId: id } },
      });
      return { id };
    },

    async setColumnValue(_parent, { input }, context) {
      const caller = requireWriter(context.identity);
      const itemId = requireId(input.itemId, "itemId");
      const columnId = requireId(input.columnId, "columnId");
      const before = await writableItem(context, itemId);
      const column = await requireColumnOf(context, before.boardId, columnId);
      const value = input.value === null || input.value === undefined ? null : parseColumnValue(column, input.value);
      if (value !== null) await requireUsers(context, personIds(value), "value.userIds");
      return context.prisma.$transaction(async (tx) => {
        const previous = await tx.columnValue.findUnique({ where: { itemId_columnId: { itemId, columnId } } });
        const item = await bumpItem(tx, caller, before, input.expectedVersion);
        if (value === null) {
          await tx.columnValue.deleteMany({ where: { itemId, columnId } });
        } else {
          await tx.columnValue.upsert({
            where: { itemId_columnId: { itemId, columnId } },
            create: { organizationId: caller.organizationId, itemId, columnId, value },
            update: { value, version: { increment: 1 } },
          });
        }
        const from = (previous?.value ?? null) as Prisma.InputJsonValue | null;
        await logActivity(tx, caller, item, "item.column_value.set", { columnId, from, to: value });
        await recordEvent(tx, origin(context), {
          eventType: "project.item.column_value.set",
          aggregateType: "Item",
          aggregateId: itemId,
          version: item.version,
          data: { boardId: item.boardId, itemId, columnId, columnType: column.type, from, to: value },
        });
        return item;
      });
    },

    async assignUsers(_parent, { input }, context) {
      const caller = requireWriter(context.identity);
      const itemId = requireId(input.itemId, "itemId");
      const add = requireIds(input.add ?? [], "add", 50);
      const remove = requireIds(input.remove ?? [], "remove", 50);
      if (add.length + remove.length === 0) throw badInput("Nothing to add or remove", "add");
      if (add.some((id) => remove.includes(id))) throw badInput("A user cannot be added and removed at once", "add");
      const before = await writableItem(context, itemId);
      await requireUsers(context, add, "add");
      return context.prisma.$transaction(async (tx) => {
        const current = new Set((await tx.itemAssignee.findMany({ where: { itemId }, select: { userId: true } })).map((row) => row.userId));
        const added = add.filter((userId) => !current.has(userId));
        const removed = remove.filter((userId) => current.has(userId));
        const item = await bumpItem(tx, caller, before, input.expectedVersion);
        await tx.itemAssignee.createMany({ data: added.map((userId) => ({ organizationId: caller.organizationId, itemId, userId })) });
        await tx.itemAssignee.deleteMany({ where: { itemId, userId: { in: removed } } });
        await logActivity(tx, caller, item, "item.assignees.changed", { added, removed });
        await recordEvent(tx, origin(context), {
          eventType: "project.item.updated",
          aggregateType: "Item",
          aggregateId: itemId,
          version: item.version,
          data: { boardId: item.boardId, itemId, changes: { assignees: { added, removed } } },
        });
        return item;
      });
    },

    async addComment(_parent, { input }, context) {
      const caller = requireWriter(context.identity);
      const itemId = requireId(input.itemId, "itemId");
      const body = requireText(input.body, "body", { max: 10_000, multiline: true });
      const item = await writableItem(context, itemId);
      return context.prisma.$transaction(async (tx) => {
        const comment = await tx.comment.create({
          data: { organizationId: caller.organizationId, itemId, authorId: caller.userId, body },
        });
        await logActivity(tx, caller, item, "comment.added", { commentId: comment.id });
        await recordEvent(tx, origin(context), {
          eventType: "comment.added",
          aggregateType: "Comment",
          aggregateId: comment.id,
          version: comment.version,
          data: { boardId: item.boardId, itemId, commentId: comment.id, authorId: caller.userId, body },
        });
        return comment;
      });
    },

    async createSubitem(_parent, { input }, context) {
      const caller = requireWriter(context.identity);
      const parentItemId = requireId(input.parentItemId, "parentItemId");
      const name = requireText(input.name, "name", { max: 500 });
      const parent = await writableItem(context, parentItemId);
      // A subitem is a change of its parent's aggregate: the event needs a version of its own (the
      // event store refuses a second event at a version). Optimistic, the bump first, and a lost race
      // retried in a new transaction: a writer that waited for the row and then wrote anyway would
      // hold an older transaction id than the change it waited for, and the log (read in
      // transaction order) would list the item's versions out of order.
      let expectedVersion = parent.version;
      for (let attempt = 1; ; attempt += 1) {
        try {
          return await context.prisma.$transaction(async (tx) => {
            const bumped = await bumpItem(tx, caller, parent, expectedVersion);
            const { _max } = await tx.subitem.aggregate({ where: { parentItemId, deletedAt: null }, _max: { position: true } });
            const subitem = await tx.subitem.create({
              data: { organizationId: caller.organizationId, parentItemId, name, position: (_max.position ?? 0) + 1 },
            });
            await logActivity(tx, caller, parent, "subitem.created", { subitemId: subitem.id, name });
            await recordEvent(tx, origin(context), {
              eventType: "project.item.subitem.created",
              aggregateType: "Item",
              aggregateId: parentItemId,
              version: bumped.version,
              data: { boardId: parent.boardId, itemId: parentItemId, subitemId: subitem.id, name },
            });
            return subitem;
          });
        } catch (error) {
          const actual = error instanceof GraphQLError && error.extensions.code === "CONFLICT" ? error.extensions.actualVersion : undefined;
          if (typeof actual !== "number" || attempt === SUBITEM_ATTEMPTS) throw error;
          expectedVersion = actual;
        }
      }
    },
  },

  Board: {
    __resolveReference: (reference) => ({ id: reference.id }),
    items: (board, args, context) => context.lists.itemsOfBoard.load({ parentId: board.id, args }),
    activity: (board, args, context) => context.lists.activityOfBoard.load({ parentId: board.id, args }),
    ...historyResolvers.Board,
  },

  Item: {
    // As Query.item: an item of a board the caller may not read (a notification about a board since
    // unshared) resolves to null. The item's load answers the board question in the same statement.
    async __resolveReference(reference, context) {
      const item = await context.loaders.item.load(reference.id);
      if (!item || !(await context.loaders.board.load(item.boardId))) return null;
      return item;
    },
    board: (item) => ({ id: item.boardId }),
    group: (item) => ({ id: item.groupId }),
    creator: (item) => ({ id: item.creatorId }),
    // An item read with `asOf` carries its lists as they were (history/as-of.ts).
    assignees: async (item, _args, context) =>
      foldedParts(item)?.assignees ?? (await context.loaders.assigneesOfItem.load(item.id)).map((assignee) => ({ id: assignee.userId })),
    columnValues: (item, _args, context) => foldedParts(item)?.columnValues ?? context.loaders.columnValuesOfItem.load(item.id),
    subitems: (item, _args, context) => foldedParts(item)?.subitems ?? context.loaders.subitemsOfItem.load(item.id),
    comments: (item, args, context) => context.lists.commentsOfItem.load({ parentId: item.id, args }),
    ...historyResolvers.Item,
  },

  HistoryEntry: historyResolvers.HistoryEntry,
  HistoryChange: historyResolvers.HistoryChange,

  ColumnValue: {
    column: (value) => ({ id: value.columnId }),
  },

  Comment: {
    author: (comment) => ({ id: comment.authorId }),
    async item(comment, _args, context) {
      const item = await context.loaders.item.load(comment.itemId);
      if (!item) throw notFound("Item", comment.itemId);
      return item;
    },
  },

  ActivityLog: {
    user: (entry) => ({ id: entry.userId }),
    item: (entry, _args, context) => (entry.itemId ? context.loaders.item.load(entry.itemId) : null),
  },
};
