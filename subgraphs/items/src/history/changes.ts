// What one event changed, as history entries list it: `{ field, columnId, from, to }` per changed
// field, read from the event's data (the write path records from → to where it has both).

export interface FieldChange {
  readonly field: string;
  /** The column, for column values (and a column's own changes). */
  readonly columnId: string | null;
  readonly from: unknown;
  readonly to: unknown;
}

type Data = Readonly<Record<string, unknown>>;

const record = (value: unknown): Data => (typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Data) : {});
const text = (value: unknown): string | null => (typeof value === "string" ? value : null);
const ids = (value: unknown): string[] => (Array.isArray(value) ? value.filter((id): id is string => typeof id === "string") : []);

const set = (field: string, to: unknown, columnId: string | null = null): FieldChange => ({ field, columnId, from: null, to: to ?? null });

/** Fields a creation event sets, by event type (ids and the board are the entry's own fields). */
const CREATED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  "project.item.created": ["name", "groupId", "position"],
  "project.created": ["name", "kind", "ownerId"],
  "project.group.created": ["name", "color", "position"],
  "project.column.created": ["title", "type", "settings", "position"],
};

/** Each `changes.<field>: { from, to }` entry; `assignees` and `columnValues` have shapes of their own. */
function fromChanges(changes: Data, columnId: string | null): FieldChange[] {
  return Object.entries(changes).flatMap(([field, change]): FieldChange[] => {
    if (field === "assignees") return assigneeChanges(record(change));
    if (field === "columnValues" && Array.isArray(change)) {
      return change.map(record).map((entry) => ({ field: "columnValue", columnId: text(entry.columnId), from: entry.from ?? null, to: entry.to ?? null }));
    }
    const entry = record(change);
    return [{ field, columnId: field === "status" ? null : columnId, from: entry.from ?? null, to: entry.to ?? null }];
  });
}

/** One entry per assignee: taken off (from the user to null) or put on (from null to the user). */
function assigneeChanges(change: Data): FieldChange[] {
  return [
    ...ids(change.removed).map((userId) => ({ field: "assignee", columnId: null, from: userId, to: null })),
    ...ids(change.added).map((userId) => ({ field: "assignee", columnId: null, from: null, to: userId })),
  ];
}

/** The changes `eventType` with `data` made. */
export function changesOf(eventType: string, data: unknown): FieldChange[] {
  const body = record(data);
  const columnId = text(body.columnId);
  const created = CREATED_FIELDS[eventType];
  if (created) {
    const fields = created.map((field) => set(field, body[field], field === "title" || field === "type" || field === "settings" ? columnId : null));
    if (eventType !== "project.item.created") return fields;
    return [
      ...fields,
      ...ids(body.assigneeIds).map((userId) => set("assignee", userId)),
      ...(Array.isArray(body.columnValues) ? body.columnValues.map(record).map((entry) => set("columnValue", entry.value, text(entry.columnId))) : []),
    ];
  }
  switch (eventType) {
    case "project.item.moved": {
      const from = record(body.from);
      const to = record(body.to);
      const moved: FieldChange[] = [];
      if (from.groupId !== to.groupId) moved.push({ field: "groupId", columnId: null, from: from.groupId ?? null, to: to.groupId ?? null });
      moved.push({ field: "position", columnId: null, from: from.position ?? null, to: to.position ?? null });
      return moved;
    }
    case "project.item.column_value.set":
      return [{ field: "columnValue", columnId, from: body.from ?? null, to: body.to ?? null }];
    case "project.item.subitem.created":
      return [set("subitem", { id: body.subitemId ?? null, name: body.name ?? null })];
    case "comment.added":
      return [set("comment", { id: body.commentId ?? null, body: body.body ?? null })];
    case "project.member.added":
      return [set("member", { userId: body.userId ?? null, permission: body.permission ?? null })];
    case "project.member.removed":
      return [{ field: "member", columnId: null, from: { userId: body.userId ?? null }, to: null }];
    case "project.item.deleted":
      return [{ field: "deleted", columnId: null, from: false, to: true }];
    case "project.archived":
    case "project.group.archived":
    case "project.column.archived":
      return [{ field: "archived", columnId, from: false, to: true }];
    default:
      return fromChanges(record(body.changes), columnId);
  }
}
