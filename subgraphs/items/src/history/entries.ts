// History entries read from the event log: an item's (its aggregate's events) and a board's (every
// event carrying its boardId, of the kinds board readers may see), newest first, one page per
// parent in one statement (a LATERAL join per parent, each an index scan that stops at the page).
import type DataLoader from "dataloader";
import { BOARD_ACTIVITY_TYPES } from "../../../../events/contracts/activity.ts";
import { Prisma } from "../../../../generated/prisma/client.ts";
import type { BoardActivityType } from "../generated/resolvers.ts";
import { queryRaw, type PrismaClient } from "../../../../platform/db.ts";
import { badInput } from "../../../shared/errors.ts";
import { pagedByParent, type ParentPage } from "../../../shared/paged-loader.ts";
import { pageRequest, type Connection, type PageArgs, type PageRequest } from "../../../shared/pagination.ts";

/** An event of the log as a history entry's parent. */
export interface HistoryEntryModel {
  readonly eventId: string;
  readonly eventType: string;
  readonly schemaVersion: number;
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly version: number;
  readonly boardId: string | null;
  readonly userId: string | null;
  /** `graphql`, `rest`, `slack`, `teams`, `system` (the envelope's `metadata.surface`), or null for older events. */
  readonly surface: string | null;
  readonly apiKeyId: string | null;
  readonly occurredAt: Date;
  readonly sequence: bigint;
  readonly data: unknown;
  /** The parent the page was read for (the item or the board). */
  readonly parentId: string;
}

/**
 * Event types a board's history shows: the board's own, its groups', columns', items' and
 * comments' (integrations' and webhooks' events carry a boardId too, but their settings are for
 * OWNER/ADMIN only and never shown here).
 */
export const BOARD_HISTORY_TYPES: Readonly<Record<string, BoardActivityType>> = { "project.created": "BOARD_CREATED", ...BOARD_ACTIVITY_TYPES };

const ENTRY_COLUMNS = Prisma.raw(`e."eventId"::text AS "eventId", e."eventType", e."schemaVersion", e."aggregateType", e."aggregateId"::text AS "aggregateId",
  e."version", e."boardId"::text AS "boardId", e."userId"::text AS "userId", e."surface", e."apiKeyId"::text AS "apiKeyId", e."occurredAt",
  e."sequence", e."envelope"->'data' AS "data", p."id"::text AS "parentId"`);

/** A board history cursor's key: the entry's instant and log sequence (`<ISO instant>|<sequence>`). */
const BOARD_KEY = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|(\d{1,19})$/;

function cursorInvalid(): Error {
  const error = badInput("after is not a valid cursor", "after");
  error.extensions.reason = "CURSOR_INVALID";
  return error;
}

/** Where a board history page continues: after (occurredAt, sequence), newest first. */
function boardAfter(request: PageRequest): { at: string; sequence: string } | null {
  if (!request.after) return null;
  const match = BOARD_KEY.exec(String(request.after.key));
  if (!match?.[1] || !match[2] || Number.isNaN(Date.parse(match[1])) || new Date(match[1]).toISOString() !== match[1]) throw cursorInvalid();
  return { at: match[1], sequence: match[2] };
}

/**
 * The parents of a batch as rows `p(id)`. One parent is a constant, not an unnest: the planner
 * then estimates its events from the column's most common values, and for an item with 10,000
 * events merges the partitions' indexes down to the page (0.1 ms) instead of sorting all of them
 * (5 ms; a parameter's estimate is the average aggregate's few events).
 */
function parentsOf(ids: readonly string[]): Prisma.Sql {
  const [only] = ids;
  return ids.length === 1 && only !== undefined ? Prisma.sql`(SELECT CAST(${only} AS uuid) AS id) p` : Prisma.sql`unnest(CAST(${ids} AS uuid[])) AS p(id)`;
}

export interface HistoryLists {
  readonly ofItem: DataLoader<ParentPage<PageArgs>, Connection<HistoryEntryModel>, string>;
  readonly ofBoard: DataLoader<ParentPage<PageArgs>, Connection<HistoryEntryModel>, string>;
}

export function createHistoryLists(prisma: PrismaClient, organizationId: () => string): HistoryLists {
  return {
    ofItem: pagedByParent<PageArgs, HistoryEntryModel>(
      async (itemIds, args) => {
        const request = pageRequest(args, "number");
        const before = request.after ? Number(request.after.key) : null;
        if (before !== null && !Number.isInteger(before)) throw cursorInvalid();
        const rows = await queryRaw<HistoryEntryModel>(
          prisma,
          Prisma.sql`SELECT ${ENTRY_COLUMNS} FROM ${parentsOf(itemIds)}
            CROSS JOIN LATERAL (
              SELECT * FROM eventstore."Event" e
               WHERE e."aggregateId" = p.id AND e."aggregateType" = 'Item' AND e."organizationId" = CAST(${organizationId()} AS uuid)
                 AND (CAST(${before} AS int) IS NULL OR e."version" < CAST(${before} AS int))
               ORDER BY e."version" DESC
               LIMIT ${request.size + 1}
            ) e
            ORDER BY p.id, e."version" DESC`,
        );
        return { rows, request };
      },
      (entry) => entry.parentId,
      (entry) => ({ key: entry.version, id: entry.eventId }),
    ),
    ofBoard: pagedByParent<PageArgs, HistoryEntryModel>(
      async (boardIds, args) => {
        const request = pageRequest(args);
        const after = boardAfter(request);
        const rows = await queryRaw<HistoryEntryModel>(
          prisma,
          Prisma.sql`SELECT ${ENTRY_COLUMNS} FROM ${parentsOf(boardIds)}
            CROSS JOIN LATERAL (
              SELECT * FROM eventstore."Event" e
               WHERE e."boardId" = p.id AND e."organizationId" = CAST(${organizationId()} AS uuid)
                 AND e."eventType" = ANY(CAST(${Object.keys(BOARD_HISTORY_TYPES)} AS text[]))
                 AND (CAST(${after?.at ?? null} AS timestamptz) IS NULL
                      OR (e."occurredAt", e."sequence") < (CAST(${after?.at ?? null} AS timestamptz), CAST(${after?.sequence ?? null} AS bigint)))
               ORDER BY e."occurredAt" DESC, e."sequence" DESC
               LIMIT ${request.size + 1}
            ) e
            ORDER BY p.id, e."occurredAt" DESC, e."sequence" DESC`,
        );
        return { rows, request };
      },
      (entry) => entry.parentId,
      (entry) => ({ key: `${entry.occurredAt.toISOString()}|${entry.sequence}`, id: entry.eventId }),
    ),
  };
}
