// An item as its events leave it: the fold behind as-of reads, snapshots and retention's compaction.
// Pure (no I/O) and JSON-safe (timestamps as ISO strings), so a state can be stored as a snapshot
// and folded further later. Every rule mirrors what the write path (../resolvers.ts) stores for
// the event, because as-of reads are compared with the rows those writes left.

/** An event of an Item aggregate, as the fold reads it (a `LoggedEvent` fits). */
export interface ItemEvent {
  readonly aggregateId: string;
  readonly organizationId: string;
  readonly eventType: string;
  readonly schemaVersion: number;
  readonly version: number;
  /** Who made the change (the envelope's `metadata.userId`). */
  readonly userId: string | null;
  readonly occurredAt: Date;
  readonly envelope: { readonly data: unknown };
}

export interface AssigneeState {
  readonly userId: string;
  /** When the assignment was made: the item's assignees are listed in that order, then by user id. */
  readonly addedAt: string;
}

export interface ColumnValueState {
  readonly columnId: string;
  readonly value: unknown;
  /** 1 when set on an empty cell, + 1 on every later set; a cleared cell starts again at 1. */
  readonly version: number;
  readonly updatedAt: string;
}

export interface SubitemState {
  readonly id: string;
  readonly name: string;
  readonly position: number;
  readonly done: boolean;
  readonly version: number;
  readonly createdAt: string;
}

export interface ItemState {
  readonly id: string;
  readonly organizationId: string;
  readonly boardId: string;
  readonly groupId: string;
  readonly name: string;
  readonly position: number;
  readonly creatorId: string;
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly deletedAt: string | null;
  readonly assignees: readonly AssigneeState[];
  readonly columnValues: readonly ColumnValueState[];
  readonly subitems: readonly SubitemState[];
  /**
   * A v1 status label folded while the board's STATUS column was not known (see `FoldOptions`);
   * absent otherwise. Status lives in a STATUS column's value today (`{ label }`).
   */
  readonly statusLabel?: string | null;
}

export interface FoldOptions {
  /**
   * The board's STATUS column: where a v1 `changes.status` label goes, as `{ label }` (the shape
   * setColumnValue stores for STATUS columns). v1 events carry the label only.
   */
  readonly statusColumnId?: string | null;
}

type Data = Readonly<Record<string, unknown>>;

const record = (value: unknown): Data => (typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Data) : {});
const text = (value: unknown): string | null => (typeof value === "string" ? value : null);
const number = (value: unknown): number | null => (typeof value === "number" && Number.isFinite(value) ? value : null);
const ids = (value: unknown): string[] => (Array.isArray(value) ? value.filter((id): id is string => typeof id === "string") : []);
const byUserId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Whether an event needs the board's STATUS column to be folded (a v1 update changing the status). */
export function needsStatusColumn(event: ItemEvent): boolean {
  return event.eventType === "project.item.updated" && event.schemaVersion === 1 && "status" in record(record(event.envelope.data).changes);
}

function created(event: ItemEvent): ItemState | null {
  const data = record(event.envelope.data);
  const boardId = text(data.boardId);
  const groupId = text(data.groupId);
  const name = text(data.name);
  const position = number(data.position);
  if (!boardId || !groupId || name === null || position === null || !event.userId) return null;
  const at = event.occurredAt.toISOString();
  const values = Array.isArray(data.columnValues) ? data.columnValues.map(record) : [];
  return {
    id: event.aggregateId,
    organizationId: event.organizationId,
    boardId,
    groupId,
    name,
    position,
    creatorId: event.userId,
    version: event.version,
    createdAt: at,
    updatedAt: at,
    deletedAt: null,
    // One createMany: the same createdAt, so the item lists them by user id.
    assignees: ids(data.assigneeIds)
      .sort(byUserId)
      .map((userId) => ({ userId, addedAt: at })),
    columnValues: values.flatMap((entry) => {
      const columnId = text(entry.columnId);
      return columnId && entry.value !== null && entry.value !== undefined ? [{ columnId, value: entry.value, version: 1, updatedAt: at }] : [];
    }),
    subitems: [],
  };
}

/** A cell set to `to` (null clears it), as setColumnValue's upsert/delete leaves it. */
function setValue(values: readonly ColumnValueState[], columnId: string, to: unknown, at: string): ColumnValueState[] {
  const rest = values.filter((value) => value.columnId !== columnId);
  if (to === null || to === undefined) return rest;
  const previous = values.find((value) => value.columnId === columnId);
  return [...rest, { columnId, value: to, version: previous ? previous.version + 1 : 1, updatedAt: at }];
}

function reassign(assignees: readonly AssigneeState[], change: Data, at: string): AssigneeState[] {
  const removed = new Set(ids(change.removed));
  const kept = assignees.filter((assignee) => !removed.has(assignee.userId));
  const present = new Set(kept.map((assignee) => assignee.userId));
  const added = ids(change.added)
    .filter((userId) => !present.has(userId))
    .sort(byUserId);
  return [...kept, ...added.map((userId) => ({ userId, addedAt: at }))];
}

function updated(state: ItemState, event: ItemEvent, options: FoldOptions, at: string): ItemState {
  const changes = record(record(event.envelope.data).changes);
  let next: ItemState = state;
  const name = text(record(changes.name).to);
  if (name !== null) next = { ...next, name };
  if ("assignees" in changes) next = { ...next, assignees: reassign(next.assignees, record(changes.assignees), at) };
  if (event.schemaVersion === 1 && "status" in changes) {
    const label = text(record(changes.status).to);
    if (options.statusColumnId) {
      next = { ...next, columnValues: setValue(next.columnValues, options.statusColumnId, label === null ? null : { label }, at) };
    } else {
      next = { ...next, statusLabel: label };
    }
  }
  if (event.schemaVersion >= 2 && Array.isArray(changes.columnValues)) {
    for (const entry of changes.columnValues.map(record)) {
      const columnId = text(entry.columnId);
      if (columnId) next = { ...next, columnValues: setValue(next.columnValues, columnId, entry.to ?? null, at) };
    }
  }
  return next;
}

/** The state after one event; unknown event types only move the version. */
function step(state: ItemState, event: ItemEvent, options: FoldOptions): ItemState {
  const at = event.occurredAt.toISOString();
  const data = record(event.envelope.data);
  const base: ItemState = { ...state, version: Math.max(state.version, event.version), updatedAt: at };
  switch (event.eventType) {
    case "project.item.updated":
      return updated(base, event, options, at);
    case "project.item.moved": {
      const to = record(data.to);
      const groupId = text(to.groupId);
      const position = number(to.position);
      return { ...base, ...(groupId ? { groupId } : {}), ...(position === null ? {} : { position }) };
    }
    case "project.item.deleted":
      return { ...base, deletedAt: at };
    case "project.item.column_value.set": {
      const columnId = text(data.columnId);
      return columnId ? { ...base, columnValues: setValue(base.columnValues, columnId, data.to ?? null, at) } : base;
    }
    case "project.item.subitem.created": {
      const id = text(data.subitemId);
      const name = text(data.name);
      if (!id || name === null || base.subitems.some((subitem) => subitem.id === id)) return base;
      // createSubitem: after the last subitem (none are deleted through the API).
      const position = base.subitems.reduce((max, subitem) => Math.max(max, subitem.position), 0) + 1;
      return { ...base, subitems: [...base.subitems, { id, name, position, done: false, version: 1, createdAt: at }] };
    }
    default:
      return base;
  }
}

/**
 * The item after `events` (its own, in version order) on top of `state`; null while there is no
 * state and no creation event to start one (an item older than its events cannot be rebuilt).
 * Events already folded in (below the state's version) are skipped, so overlapping ranges fold safely.
 */
export function foldItem(state: ItemState | null, events: readonly ItemEvent[], options: FoldOptions = {}): ItemState | null {
  let current = state;
  for (const event of events) {
    if (current === null) {
      if (event.eventType === "project.item.created") current = created(event);
      continue;
    }
    // Subitems created before they bumped the item's version share the version of the change before.
    const replayed = event.version < current.version || (event.version === current.version && event.eventType !== "project.item.subitem.created");
    if (replayed) continue;
    current = step(current, event, options);
  }
  return current;
}

/** The state's cells in the order the API lists them (by column id; the table has no order of its own). */
export function orderedColumnValues(state: ItemState): ColumnValueState[] {
  return [...state.columnValues].sort((a, b) => byUserId(a.columnId, b.columnId));
}

/** Subitems as the item lists them: by position, then id. */
export function orderedSubitems(state: ItemState): SubitemState[] {
  return [...state.subitems].sort((a, b) => a.position - b.position || byUserId(a.id, b.id));
}
