// The search projection's fold: what a batch of logged events does to the documents and board facts
// it touches, in memory. The projection (projection.ts) loads the rows a batch touches, folds the
// batch here and writes what changed back in one statement per table, so a rebuild replaying
// millions of events costs a few statements per batch rather than one per event.
import type { LoggedEvent } from "../../../../events/store/log.ts";

export const DOCUMENT_TYPES = ["ITEM", "BOARD", "COMMENT"] as const;
export type DocumentType = (typeof DOCUMENT_TYPES)[number];

/** An item column's searchable text, kept so a later change of one column can rebuild the body. */
export interface ColumnText {
  /** STATUS labels also fill `status`; TEXT and DROPDOWN only the body. */
  readonly type: "STATUS" | "TEXT" | "DROPDOWN";
  readonly text: string;
}

/** One searchable thing: an item, a board or a comment (a row of search."Document_g<N>"). */
export interface SearchDocument {
  readonly id: string;
  readonly type: DocumentType;
  readonly organizationId: string;
  /** The board it is on (a board's own id for a BOARD). */
  readonly boardId: string;
  /** The item it is (ITEM) or is on (COMMENT). */
  readonly itemId: string | null;
  readonly title: string;
  readonly body: string;
  readonly status: readonly string[];
  readonly assigneeIds: readonly string[];
  /** An item's column texts by column id (`status` for a v1 status change, which names no column). */
  readonly columns: Readonly<Record<string, ColumnText>>;
  /** The aggregate version applied last: an event at or below it changes nothing. */
  readonly version: number;
  readonly updatedAt: Date;
}

/** What the board reading rules need of a board (subgraphs/shared/board-rules.ts), from its events. */
export interface SearchBoard {
  readonly id: string;
  readonly organizationId: string;
  readonly kind: string;
  readonly ownerId: string;
  readonly archived: boolean;
  /** Users the board is shared with (any permission), its owner included. */
  readonly sharedWith: readonly string[];
  readonly version: number;
}

/** A deleted item, kept so that replaying its creation (or a late comment on it) cannot bring it back. */
export interface DeletedItem {
  readonly id: string;
  readonly version: number;
}

export interface FoldResult {
  readonly documents: readonly SearchDocument[];
  readonly boards: readonly SearchBoard[];
  readonly deletedItems: readonly DeletedItem[];
}

/** The rows a batch touches, as stored before it. */
export interface FoldStart {
  readonly documents: ReadonlyMap<string, SearchDocument>;
  readonly boards: ReadonlyMap<string, SearchBoard>;
  /** Deleted item ids among those the batch names. */
  readonly deletedItems: ReadonlySet<string>;
}

type Data = Readonly<Record<string, unknown>>;

const isRecord = (value: unknown): value is Data => typeof value === "object" && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === "string") : []);

/** The `to` of a `{ from, to }` change, when the change is there. */
function changedTo(changes: unknown, field: string): { value: unknown } | undefined {
  if (!isRecord(changes)) return undefined;
  const entry = changes[field];
  return isRecord(entry) && "to" in entry ? { value: entry.to } : undefined;
}

/** A column value's searchable text, by its column type (or, for creation events, its shape). */
export function columnText(type: string | undefined, value: unknown): ColumnText | null {
  if (value === null || value === undefined) return null;
  if ((type === undefined || type === "TEXT") && typeof value === "string") return value.trim() === "" ? null : { type: "TEXT", text: value };
  if ((type === undefined || type === "STATUS") && isRecord(value) && typeof value.label === "string") return { type: "STATUS", text: value.label };
  if ((type === undefined || type === "DROPDOWN") && isRecord(value) && Array.isArray(value.labels)) {
    const labels = strings(value.labels);
    return labels.length === 0 ? null : { type: "DROPDOWN", text: labels.join(", ") };
  }
  return null;
}

/**
 * The document's body and status from its columns, in column id order: stored as jsonb, the
 * columns come back in jsonb's key order, so any order of their own would depend on batch bounds.
 */
function withColumns(document: SearchDocument, columns: Readonly<Record<string, ColumnText>>): SearchDocument {
  const texts = Object.keys(columns)
    .sort()
    .map((columnId) => columns[columnId] as ColumnText);
  return {
    ...document,
    columns,
    body: texts.map((column) => column.text).join("\n"),
    status: texts.filter((column) => column.type === "STATUS").map((column) => column.text),
  };
}

function setColumn(columns: Readonly<Record<string, ColumnText>>, columnId: string, text: ColumnText | null): Record<string, ColumnText> {
  const next = { ...columns };
  if (text) next[columnId] = text;
  else delete next[columnId];
  return next;
}

/**
 * Folds `events` (log order) onto `start`. Each aggregate's events are taken in version order (a
 * batch can hold them out of order when transactions got their ids in another order than they
 * committed) and an event at or below the version applied is skipped, so replaying any stretch of
 * the log changes nothing.
 */
export function foldSearchEvents(start: FoldStart, events: readonly LoggedEvent[]): FoldResult {
  const documents = new Map(start.documents);
  const boards = new Map(start.boards);
  const deleted = new Set(start.deletedItems);
  const changedDocuments = new Set<string>();
  const changedBoards = new Set<string>();
  const deletedNow = new Map<string, number>();

  const put = (document: SearchDocument) => {
    documents.set(document.id, document);
    changedDocuments.add(document.id);
  };
  const putBoard = (board: SearchBoard) => {
    boards.set(board.id, board);
    changedBoards.add(board.id);
  };

  function board(event: LoggedEvent, data: Data): void {
    const current = boards.get(event.aggregateId);
    const document = documents.get(event.aggregateId);
    if (current && event.version <= current.version) return;
    const touch = (changes: Partial<SearchDocument>) => {
      if (document) put({ ...document, ...changes, version: event.version, updatedAt: event.occurredAt });
    };
    if (event.eventType === "project.created") {
      const ownerId = str(data.ownerId);
      const kind = str(data.kind);
      if (!ownerId || !kind) return;
      // The creator is the owner and gets an OWNER share (projects' createBoard), as in board-access.ts.
      putBoard({ id: event.aggregateId, organizationId: event.organizationId, kind, ownerId, archived: false, sharedWith: [ownerId], version: event.version });
      put({
        id: event.aggregateId,
        type: "BOARD",
        organizationId: event.organizationId,
        boardId: event.aggregateId,
        itemId: null,
        title: str(data.name) ?? "",
        body: str(data.description) ?? "",
        status: [],
        assigneeIds: [],
        columns: {},
        version: event.version,
        updatedAt: event.occurredAt,
      });
      return;
    }
    // Without its creation the board's facts are unknown: its documents stay unreadable.
    if (!current) return;
    let next: SearchBoard = { ...current, version: event.version };
    const changes: Partial<SearchDocument> = {};
    if (event.eventType === "project.updated") {
      const kind = changedTo(data.changes, "kind");
      if (typeof kind?.value === "string") next = { ...next, kind: kind.value };
      const name = changedTo(data.changes, "name");
      if (typeof name?.value === "string") Object.assign(changes, { title: name.value });
      const description = changedTo(data.changes, "description");
      if (description) Object.assign(changes, { body: str(description.value) ?? "" });
    } else if (event.eventType === "project.archived") {
      next = { ...next, archived: true };
    } else if (event.eventType === "project.member.added") {
      const userId = str(data.userId);
      if (userId && !next.sharedWith.includes(userId)) next = { ...next, sharedWith: [...next.sharedWith, userId] };
    } else if (event.eventType === "project.member.removed") {
      const userId = str(data.userId);
      next = { ...next, sharedWith: next.sharedWith.filter((id) => id !== userId) };
    }
    putBoard(next);
    touch(changes);
  }

  function item(event: LoggedEvent, data: Data): void {
    const id = event.aggregateId;
    if (deleted.has(id)) return;
    const current = documents.get(id);
    if (current && event.version <= current.version) return;
    const boardId = str(data.boardId);
    if (event.eventType === "project.item.created") {
      if (!boardId) return;
      let columns: Record<string, ColumnText> = {};
      for (const entry of Array.isArray(data.columnValues) ? data.columnValues : []) {
        if (isRecord(entry) && typeof entry.columnId === "string") columns = setColumn(columns, entry.columnId, columnText(undefined, entry.value));
      }
      const created: SearchDocument = {
        id,
        type: "ITEM",
        organizationId: event.organizationId,
        boardId,
        itemId: id,
        title: str(data.name) ?? "",
        body: "",
        status: [],
        assigneeIds: [...new Set(strings(data.assigneeIds))],
        columns: {},
        version: event.version,
        updatedAt: event.occurredAt,
      };
      put(withColumns(created, columns));
      return;
    }
    if (event.eventType === "project.item.deleted") {
      deleted.add(id);
      deletedNow.set(id, event.version);
      documents.delete(id);
      changedDocuments.delete(id);
      return;
    }
    const name = event.eventType === "project.item.updated" ? changedTo(data.changes, "name") : undefined;
    // An item from before the log (seeded rows) gets a document once a rename tells its name.
    const base: SearchDocument | undefined =
      current ??
      (typeof name?.value === "string" && boardId
        ? {
            id,
            type: "ITEM",
            organizationId: event.organizationId,
            boardId,
            itemId: id,
            title: name.value,
            body: "",
            status: [],
            assigneeIds: [],
            columns: {},
            version: 0,
            updatedAt: event.occurredAt,
          }
        : undefined);
    if (!base) return;
    let next: SearchDocument = { ...base, version: event.version, updatedAt: event.occurredAt };
    if (event.eventType === "project.item.updated") {
      if (typeof name?.value === "string") next = { ...next, title: name.value };
      const changes = isRecord(data.changes) ? data.changes : {};
      const assignees = isRecord(changes.assignees) ? changes.assignees : undefined;
      if (assignees) {
        const removed = new Set(strings(assignees.removed));
        const kept = next.assigneeIds.filter((userId) => !removed.has(userId));
        next = { ...next, assigneeIds: [...new Set([...kept, ...strings(assignees.added)])] };
      }
      const status = changedTo(changes, "status");
      if (status)
        next = withColumns(next, setColumn(next.columns, "status", columnText("STATUS", typeof status.value === "string" ? { label: status.value } : null)));
      for (const entry of Array.isArray(changes.columnValues) ? changes.columnValues : []) {
        if (!isRecord(entry) || typeof entry.columnId !== "string") continue;
        next = withColumns(next, setColumn(next.columns, entry.columnId, columnText(str(entry.columnType) ?? "", entry.to)));
      }
    } else if (event.eventType === "project.item.column_value.set" && typeof data.columnId === "string") {
      next = withColumns(next, setColumn(next.columns, data.columnId, columnText(str(data.columnType) ?? "", data.to)));
    }
    put(next);
  }

  function comment(event: LoggedEvent, data: Data): void {
    if (event.eventType !== "comment.added") return;
    const current = documents.get(event.aggregateId);
    if (current && event.version <= current.version) return;
    const itemId = str(data.itemId);
    const boardId = str(data.boardId);
    if (!itemId || !boardId || deleted.has(itemId)) return;
    put({
      id: event.aggregateId,
      type: "COMMENT",
      organizationId: event.organizationId,
      boardId,
      itemId,
      title: "",
      body: str(data.body) ?? "",
      status: [],
      assigneeIds: [],
      columns: {},
      version: event.version,
      updatedAt: event.occurredAt,
    });
  }

  for (const event of inAggregateOrder(events)) {
    const data = isRecord(event.envelope.data) ? event.envelope.data : {};
    if (event.aggregateType === "Board") board(event, data);
    else if (event.aggregateType === "Item") item(event, data);
    else if (event.aggregateType === "Comment") comment(event, data);
  }

  // A comment of an item deleted in this batch goes with it (the writer also deletes by item id, for
  // comments stored before the batch).
  for (const id of changedDocuments) {
    const document = documents.get(id);
    if (document?.type === "COMMENT" && document.itemId && deleted.has(document.itemId)) changedDocuments.delete(id);
  }
  return {
    documents: [...changedDocuments].map((id) => documents.get(id) as SearchDocument),
    boards: [...changedBoards].map((id) => boards.get(id) as SearchBoard),
    deletedItems: [...deletedNow].map(([id, version]) => ({ id, version })),
  };
}

/** The events grouped by aggregate (in order of first appearance), each group in version order. */
function inAggregateOrder(events: readonly LoggedEvent[]): LoggedEvent[] {
  const groups = new Map<string, LoggedEvent[]>();
  for (const event of events) {
    const group = groups.get(event.aggregateId);
    if (group) group.push(event);
    else groups.set(event.aggregateId, [event]);
  }
  return [...groups.values()].flatMap((group) => (group.length > 1 ? group.sort((a, b) => a.version - b.version) : group));
}

/** Ids whose stored rows a batch needs: documents and boards by aggregate, items by comment. */
export function touchedBy(events: readonly LoggedEvent[]): { documents: string[]; boards: string[]; items: string[] } {
  const documents = new Set<string>();
  const boards = new Set<string>();
  const items = new Set<string>();
  for (const event of events) {
    if (event.aggregateType === "Board") {
      boards.add(event.aggregateId);
      documents.add(event.aggregateId);
    } else if (event.aggregateType === "Item") {
      documents.add(event.aggregateId);
      items.add(event.aggregateId);
    } else if (event.aggregateType === "Comment") {
      documents.add(event.aggregateId);
      const itemId = isRecord(event.envelope.data) ? str(event.envelope.data.itemId) : undefined;
      if (itemId) items.add(itemId);
    }
  }
  return { documents: [...documents], boards: [...boards], items: [...items] };
}
