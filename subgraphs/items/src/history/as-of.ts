// `item(id, asOf)`: the item rebuilt at an instant from the event store (latest snapshot at or
// before it, plus the events after, folded), shown through the Item type's own resolvers: the row
// fields come from the folded state, and the lists (assignees, column values, subitems) too, kept
// beside the row object for `foldedParts`.
import { eventStoreConfig } from "../../../../platform/config.ts";
import type { PrismaClient } from "../../../../platform/db.ts";
import type { ColumnValueModel, ItemModel, SubitemModel } from "../../../../generated/prisma/models.ts";
import { rebuild, type Queryable } from "../../../../events/store/snapshots.ts";
import { retentionHorizon } from "../../../../events/store/retention.ts";
import { requireIdentity } from "../../../shared/authorization.ts";
import type { EntityRef } from "../../../shared/context.ts";
import { badInput } from "../../../shared/errors.ts";
import type { ItemsContext } from "../context.ts";
import { ITEM_FOLD } from "./item-fold.ts";
import { orderedColumnValues, orderedSubitems, type ItemState } from "./item-state.ts";

/** The lists of an item rebuilt as of an instant, in the shapes the Item resolvers return. */
export interface FoldedParts {
  readonly assignees: EntityRef[];
  readonly columnValues: ColumnValueModel[];
  readonly subitems: SubitemModel[];
}

const folded = new WeakMap<ItemModel, FoldedParts>();

/** The folded lists of an item read with `asOf`; undefined for an item read as it is now. */
export function foldedParts(item: ItemModel): FoldedParts | undefined {
  return folded.get(item);
}

/** The event store through the subgraph's Prisma client. */
export function prismaQueryable(prisma: PrismaClient): Queryable {
  return { query: async (text, values = []) => ({ rows: await prisma.$queryRawUnsafe<unknown[]>(text, ...values) }) };
}

function itemOf(state: ItemState): ItemModel {
  const item: ItemModel = {
    id: state.id,
    organizationId: state.organizationId,
    boardId: state.boardId,
    groupId: state.groupId,
    name: state.name,
    position: state.position,
    creatorId: state.creatorId,
    version: state.version,
    createdAt: new Date(state.createdAt),
    updatedAt: new Date(state.updatedAt),
    deletedAt: state.deletedAt === null ? null : new Date(state.deletedAt),
  };
  folded.set(item, {
    assignees: state.assignees.map((assignee) => ({ id: assignee.userId })),
    columnValues: orderedColumnValues(state).map((value) => ({
      organizationId: state.organizationId,
      itemId: state.id,
      columnId: value.columnId,
      value: value.value as ColumnValueModel["value"],
      version: value.version,
      updatedAt: new Date(value.updatedAt),
    })),
    subitems: orderedSubitems(state).map((subitem) => ({
      id: subitem.id,
      organizationId: state.organizationId,
      parentItemId: state.id,
      name: subitem.name,
      position: subitem.position,
      done: subitem.done,
      version: subitem.version,
      createdAt: new Date(subitem.createdAt),
      updatedAt: new Date(subitem.createdAt),
      deletedAt: null,
    })),
  });
  return item;
}

/** Refuses instants the log cannot answer for: in the future, or before the retention horizon. */
function requireAnswerable(asOf: Date, now: Date): void {
  if (Number.isNaN(asOf.getTime())) throw badInput("asOf is not a valid instant", "asOf");
  if (asOf.getTime() > now.getTime()) throw badInput("asOf is in the future", "asOf");
  const horizon = retentionHorizon(eventStoreConfig({ onInvalid: "throw" }).retentionMonths, now);
  if (horizon && asOf < horizon) throw badInput(`history before ${horizon.toISOString().slice(0, 10)} is no longer kept`, "asOf");
}

/**
 * The item `id` as it was at `asOf`, if the caller may read its board now; null when it did not
 * exist then (not created yet, deleted, another organisation's, or older than its events).
 */
export async function itemAsOf(context: ItemsContext, id: string, asOf: Date): Promise<ItemModel | null> {
  const caller = requireIdentity(context.identity);
  requireAnswerable(asOf, new Date());
  const rebuilt = await rebuild(prismaQueryable(context.prisma), ITEM_FOLD, id, { atOrBefore: asOf, organizationId: caller.organizationId });
  if (!rebuilt || rebuilt.state.deletedAt !== null) return null;
  if (!(await context.loaders.board.load(rebuilt.state.boardId))) return null;
  return itemOf(rebuilt.state);
}
