// The history fields of the items subgraph, spread into ../resolvers.ts: Item.history,
// Board.history and the entry types. `item(id, asOf)` is in ./as-of.ts.
import type { ChangeSurface, Resolvers } from "../generated/resolvers.ts";
import type { ItemsContext } from "../context.ts";
import { orgOf } from "../../../shared/context.ts";
import { changesOf } from "./changes.ts";
import { BOARD_HISTORY_TYPES, createHistoryLists, type HistoryLists } from "./entries.ts";

const lists = new WeakMap<ItemsContext, HistoryLists>();

/** The request's history loaders (made on first use, so requests that read no history pay nothing). */
function historyOf(context: ItemsContext): HistoryLists {
  let found = lists.get(context);
  if (!found) {
    found = createHistoryLists(context.prisma, () => orgOf(context));
    lists.set(context, found);
  }
  return found;
}

const SURFACES: Readonly<Record<string, ChangeSurface>> = { graphql: "GRAPHQL", rest: "REST", slack: "SLACK", teams: "TEAMS", system: "SYSTEM" };

const text = (value: unknown): string | null => (typeof value === "string" ? value : null);

/** The item an entry is about: the aggregate itself, or the item named in its data (comments, subitems). */
function itemIdOf(entry: { aggregateType: string; aggregateId: string; data: unknown }): string | null {
  if (entry.aggregateType === "Item") return entry.aggregateId;
  const data = entry.data as { itemId?: unknown } | null;
  return text(data?.itemId);
}

export const historyResolvers = {
  Item: {
    // The parent passed the item's own access check (its board is readable now).
    history: (item, args, context) => historyOf(context).ofItem.load({ parentId: item.id, args }),
  },
  Board: {
    async history(board, args, context) {
      if (!(await context.loaders.board.load(board.id))) return null;
      return historyOf(context).ofBoard.load({ parentId: board.id, args });
    },
  },
  HistoryEntry: {
    id: (entry) => entry.eventId,
    type: (entry) => BOARD_HISTORY_TYPES[entry.eventType] ?? "ITEM_UPDATED",
    itemId: (entry) => itemIdOf(entry),
    async item(entry, _args, context) {
      const itemId = itemIdOf(entry);
      return itemId ? context.loaders.item.load(itemId) : null;
    },
    actor: (entry) => (entry.userId ? { id: entry.userId } : null),
    surface: (entry) => (entry.surface ? (SURFACES[entry.surface] ?? null) : null),
    changes: (entry) => changesOf(entry.eventType, entry.data),
  },
  HistoryChange: {
    column: (change) => (change.columnId ? { id: change.columnId } : null),
  },
} satisfies Resolvers;
