// The Item fold as the event store uses it (snapshots, as-of reads, retention's compaction), and
// the snapshots projection the items subgraph runs.
import type { LoggedEvent } from "../../../../events/store/log.ts";
import type { Projection } from "../../../../events/store/projection.ts";
import { snapshotsProjection, type AggregateFold, type Queryable } from "../../../../events/store/snapshots.ts";
import { foldItem, needsStatusColumn, type ItemState } from "./item-state.ts";

/**
 * The board's STATUS column as the log knows it (the first one created, by position): where v1
 * status labels go. Null for boards whose columns are older than the log.
 */
async function statusColumnOf(db: Queryable, boardId: string): Promise<string | null> {
  const { rows } = await db.query(
    `SELECT e."envelope"->'data'->>'columnId' AS "columnId" FROM eventstore."Event" e
      WHERE e."boardId" = $1::uuid AND e."eventType" = 'project.column.created' AND e."envelope"->'data'->>'type' = 'STATUS'
      ORDER BY (e."envelope"->'data'->>'position')::float8, e."sequence"
      LIMIT 1`,
    [boardId],
  );
  const [row] = rows as { columnId: string | null }[];
  return row?.columnId ?? null;
}

export const ITEM_FOLD: AggregateFold<ItemState> = {
  aggregateType: "Item",
  async fold(db: Queryable, state: ItemState | null, events: readonly LoggedEvent[]) {
    // Asked only when a v1 status change is among the events: none is written today.
    const boardId = state?.boardId ?? events.find((event) => event.eventType === "project.item.created")?.boardId ?? null;
    const statusColumnId = boardId && events.some(needsStatusColumn) ? await statusColumnOf(db, boardId) : null;
    return foldItem(state, events, { statusColumnId });
  },
  ended: (state) => state.deletedAt !== null,
};

/** The aggregates the items subgraph keeps rebuildable: what its snapshots and retention's compaction fold. */
export const STORE_FOLDS: readonly AggregateFold<unknown>[] = [ITEM_FOLD as AggregateFold<unknown>];

/** The "snapshots" projection of the items subgraph: an Item snapshot every `every` versions (SNAPSHOT_EVERY). */
export function itemSnapshots(every: number): Projection {
  return snapshotsProjection({ every, folds: STORE_FOLDS });
}
