/**
 * Text the input rules refuse (subgraphs/shared/validation.ts) must not be found stored, whatever a
 * bad request got answered: no control or bidi characters in names, no control characters in
 * multi-line text, and no U+FFFD, which is what an unpaired surrogate or invalid UTF-8 becomes when
 * it is silently "repaired" on the way to PostgreSQL. Column values must be of their column's shape
 * (a DATE of 2026-02-30 was stored).
 */
import type { Harness } from "../harness.ts";

const SINGLE_LINE = /[\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069\uFFFD]/;
const MULTI_LINE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFD]/;

/** A real calendar day (2026-02-30 is not one). */
function isDay(value: unknown): boolean {
  return typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value) && new Date(`${value}T00:00:00.000Z`).toISOString().slice(0, 10) === value;
}

/** Stored column values that are not of their column's shape: DATE and TIMELINE days, finite NUMBERs. */
export async function badStoredValues(harness: Harness): Promise<string[]> {
  const [rows, columns] = await Promise.all([
    harness.prisma.columnValue.findMany({ select: { itemId: true, columnId: true, value: true } }),
    harness.prisma.column.findMany({ select: { id: true, type: true } }),
  ]);
  const typeOf = new Map(columns.map((column) => [column.id, column.type as string]));
  const found: string[] = [];
  for (const row of rows) {
    const type = typeOf.get(row.columnId);
    const value = row.value as unknown;
    const record = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
    const ok = type === "DATE" ? isDay(record.date) : type === "TIMELINE" ? isDay(record.from) && isDay(record.to) : type === "NUMBER" ? typeof value === "number" && Number.isFinite(value) : true;
    if (!ok) found.push(`ColumnValue of item ${row.itemId}, ${type} column ${row.columnId}: ${JSON.stringify(value)}`);
  }
  return found;
}

/** `Model.field id: value` for every stored string that breaks the rules. */
export async function badStoredText(harness: Harness): Promise<string[]> {
  const { prisma } = harness;
  const [boards, groups, columns, items, subitems, workspaces, comments, users, keys, integrations, webhooks] = await Promise.all([
    prisma.board.findMany({ select: { id: true, name: true, description: true } }),
    prisma.group.findMany({ select: { id: true, name: true } }),
    prisma.column.findMany({ select: { id: true, title: true } }),
    prisma.item.findMany({ select: { id: true, name: true } }),
    prisma.subitem.findMany({ select: { id: true, name: true } }),
    prisma.workspace.findMany({ select: { id: true, name: true, description: true } }),
    prisma.comment.findMany({ select: { id: true, body: true } }),
    prisma.user.findMany({ select: { id: true, name: true, title: true, email: true } }),
    prisma.apiKey.findMany({ select: { id: true, name: true } }),
    prisma.integration.findMany({ select: { id: true, name: true } }),
    prisma.webhook.findMany({ select: { id: true, url: true } }),
  ]);
  const found: string[] = [];
  const check = (model: string, rows: readonly Record<string, unknown>[], singleLine: readonly string[], multiLine: readonly string[] = []) => {
    for (const row of rows) {
      for (const [fields, rule] of [
        [singleLine, SINGLE_LINE],
        [multiLine, MULTI_LINE],
      ] as const) {
        for (const field of fields) {
          const value = row[field];
          if (typeof value === "string" && rule.test(value)) found.push(`${model}.${field} ${String(row.id)}: ${JSON.stringify(value.slice(0, 80))}`);
        }
      }
    }
  };
  check("Board", boards, ["name"], ["description"]);
  check("Group", groups, ["name"]);
  check("Column", columns, ["title"]);
  check("Item", items, ["name"]);
  check("Subitem", subitems, ["name"]);
  check("Workspace", workspaces, ["name"], ["description"]);
  check("Comment", comments, [], ["body"]);
  check("User", users, ["name", "title", "email"]);
  check("ApiKey", keys, ["name"]);
  check("Integration", integrations, ["name"]);
  check("Webhook", webhooks, ["url"]);
  return found;
}
