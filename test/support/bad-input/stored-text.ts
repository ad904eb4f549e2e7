/**
 * Text the input rules refuse (subgraphs/shared/validation.ts) must not be found stored, whatever a
 * bad request got answered: no control or bidi characters in names, no control characters in
 * multi-line text, and no U+FFFD, which is what an unpaired surrogate or invalid UTF-8 becomes when
 * it is silently "repaired" on the way to PostgreSQL.
 */
import type { Harness } from "../harness.ts";

const SINGLE_LINE = /[\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069\uFFFD]/;
const MULTI_LINE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFD]/;

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
      for (const [fields, rule] of [[singleLine, SINGLE_LINE], [multiLine, MULTI_LINE]] as const) {
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
