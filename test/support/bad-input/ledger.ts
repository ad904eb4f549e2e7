/**
 * Row counts per table, and what the 2xx writes of a run allow them to become: each mutation may
 * change each table it writes by a bounded amount; a table no successful write touches must not
 * change at all. A malformed request that stores something while answering 4xx breaks this.
 */
import type { Harness } from "../harness.ts";

export const TABLES = [
  "organization",
  "user",
  "membership",
  "team",
  "teamMember",
  "apiKey",
  "workspace",
  "board",
  "group",
  "column",
  "boardMember",
  "item",
  "itemAssignee",
  "columnValue",
  "subitem",
  "comment",
  "activityLog",
  "integration",
  "webhook",
  // Only testWebhook queues deliveries through the API (the runtime, which enqueues the rest, is not running).
  "webhookDelivery",
  "outboxEvent",
] as const;
export type Table = (typeof TABLES)[number];
export type Counts = Record<Table, number>;

type Bounds = readonly [min: number, max: number];
const MANY = 100_000;
/** Every write may log activity and record outbox events (one per change, plus notifications). */
const SIDE: Partial<Record<Table, Bounds>> = { activityLog: [0, 5], outboxEvent: [0, 20] };

/** How one successful call of each mutation may change each table. */
export const EFFECTS: Readonly<Record<string, Partial<Record<Table, Bounds>>>> = {
  createBoard: { board: [1, 1], boardMember: [0, 1], group: [0, 10], column: [0, 20] },
  updateBoard: {},
  archiveBoard: {},
  createWorkspace: { workspace: [1, 1] },
  createGroup: { group: [1, 1] },
  updateGroup: {},
  archiveGroup: {},
  createColumn: { column: [1, 1] },
  updateColumn: {},
  archiveColumn: {},
  shareBoard: { boardMember: [0, 1] },
  unshareBoard: { boardMember: [-1, 0] },
  createItem: { item: [1, 1], itemAssignee: [0, 50], columnValue: [0, 100] },
  updateItem: {},
  moveItem: {},
  deleteItem: {},
  setColumnValue: { columnValue: [-1, 1] },
  assignUsers: { itemAssignee: [-MANY, MANY] },
  addComment: { comment: [1, 1] },
  createSubitem: { subitem: [1, 1] },
  inviteMember: { user: [0, 1], membership: [0, 1] },
  removeMember: { membership: [-1, 0], teamMember: [-MANY, 0], boardMember: [-MANY, 0], itemAssignee: [-MANY, 0] },
  changeMemberRole: {},
  updateProfile: {},
  createApiKey: { apiKey: [1, 1] },
  revokeApiKey: { apiKey: [-1, 0] },
  enableIntegration: { integration: [0, 1] },
  disableIntegration: {},
  createWebhook: { webhook: [1, 1] },
  setWebhookEnabled: {},
  rotateWebhookSecret: {},
  testWebhook: { webhookDelivery: [1, 1] },
  // Makes a finished delivery PENDING again: the same row.
  redeliverWebhookDelivery: {},
  deleteWebhook: { webhook: [-1, 0] },
};

export async function countRows(harness: Harness): Promise<Counts> {
  const prisma = harness.prisma as unknown as Record<Table, { count(): Promise<number> }>;
  const counts = await Promise.all(TABLES.map((table) => prisma[table].count()));
  return Object.fromEntries(TABLES.map((table, i) => [table, counts[i] as number])) as Counts;
}

/** Tables whose change is outside what the writes allow, with the change and the allowance. */
export function unexplained(before: Counts, after: Counts, writes: ReadonlyMap<string, number>): string[] {
  const allowed = Object.fromEntries(TABLES.map((table) => [table, [0, 0]])) as Record<Table, [number, number]>;
  for (const [field, times] of writes) {
    const effects = EFFECTS[field];
    if (!effects) throw new Error(`the ledger does not know what ${field} writes: add it to EFFECTS`);
    for (const [table, [min, max]] of Object.entries({ ...SIDE, ...effects }) as [Table, Bounds][]) {
      allowed[table][0] += min * times;
      allowed[table][1] += max * times;
    }
  }
  const wrong: string[] = [];
  for (const table of TABLES) {
    const change = after[table] - before[table];
    const [min, max] = allowed[table];
    if (change < min || change > max) wrong.push(`${table} changed by ${change}, the 2xx writes allow ${min}..${max}`);
  }
  return wrong;
}
