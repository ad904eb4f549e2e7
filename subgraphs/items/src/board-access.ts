import DataLoader from "dataloader";
import { Prisma } from "../../../generated/prisma/client.ts";
import type { PrismaClient, Tx } from "../../../platform/db.ts";
import type { Identity } from "../../../platform/identity.ts";
import type { PeerClient } from "../../shared/peer.ts";
import { canReadBoard, canWriteBoard, type BoardRuleFacts } from "../../shared/board-rules.ts";

/**
 * Whether a caller may read or write a board, answered by items itself with the board rules
 * (shared/board-rules.ts) on facts it keeps: BoardAccess (kind, owner, archived, version) and
 * BoardAccessShare, both folded from the boards' own events in the event log. This replaces an
 * HTTP request to the projects subgraph on every item read and write.
 *
 * Never stale: the statement that reads the facts also reads the board's last version in the event
 * store; when the facts are behind it, the Board events above them are read and folded in before the
 * rules run, so an unshare, an archive or a board made private counts from the moment its
 * transaction commits, as when projects answered. Events that are gone (retention) or a version
 * missing in between send the question to projects.
 * Facts that cannot be folded (no row yet and no creation event, an event type this fold does not
 * know) are asked of projects once (`_boardAccess`, the facts at a version) and stored.
 */
export interface BoardFacts {
  id: string;
  viewerCanWrite: boolean;
}

/** The rules' facts of one board at a version, with the shares that changed since the stored ones. */
export interface FoldedBoard extends BoardRuleFacts {
  readonly version: number;
}

/** One Board event from the log, as the fold reads it. */
export interface BoardEvent {
  readonly eventType: string;
  readonly version: number;
  readonly organizationId: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export interface Folded {
  readonly board: FoldedBoard;
  /** Shares set (a permission) or removed (null) by the folded events, by user id, last one winning. */
  readonly shares: ReadonlyMap<string, string | null>;
}

/**
 * The facts after `events` (in version order) on top of `stored` (undefined: no facts yet, so the
 * first event must be the board's creation). Null when an event cannot be folded or a version is
 * missing: ask projects.
 */
export function foldBoardEvents(stored: FoldedBoard | undefined, events: readonly BoardEvent[]): Folded | null {
  let board = stored;
  const shares = new Map<string, string | null>();
  for (const event of events) {
    const data = event.data;
    if (event.eventType === "project.created") {
      if (typeof data.kind !== "string" || typeof data.ownerId !== "string") return null;
      board = { organizationId: event.organizationId, kind: data.kind, ownerId: data.ownerId, archived: false, version: event.version };
      // The creator is the owner and gets an OWNER share (projects' createBoard).
      shares.set(data.ownerId, "OWNER");
      continue;
    }
    if (!board) return null;
    // A version missing in between (events pruned, or written elsewhere) could be an unshare: the
    // facts cannot be told from what is here.
    if (event.version !== board.version + 1) return null;
    if (event.eventType === "project.updated") {
      const kind = (data.changes as { kind?: { to?: unknown } } | undefined)?.kind?.to;
      board = { ...board, ...(typeof kind === "string" ? { kind } : {}), version: event.version };
    } else if (event.eventType === "project.archived") {
      board = { ...board, archived: true, version: event.version };
    } else if (event.eventType === "project.member.added" && typeof data.userId === "string" && typeof data.permission === "string") {
      shares.set(data.userId, data.permission);
      board = { ...board, version: event.version };
    } else if (event.eventType === "project.member.removed" && typeof data.userId === "string") {
      shares.set(data.userId, null);
      board = { ...board, version: event.version };
    } else {
      return null;
    }
  }
  return board ? { board, shares } : null;
}

/** What the rules answer for one caller: null when they may not read the board. */
export function judge(identity: Identity, boardId: string, board: BoardRuleFacts, share: string | undefined): BoardFacts | null {
  if (!canReadBoard(identity, board, share !== undefined)) return null;
  return { id: boardId, viewerCanWrite: canWriteBoard(identity, board, share) };
}

/** The access columns of one board as `accessSql` selects them. */
export interface StoredAccess {
  accessBoardId: string;
  accessOrganizationId: string | null;
  accessKind: string | null;
  accessOwnerId: string | null;
  accessArchived: boolean | null;
  accessVersion: number | null;
  accessShare: string | null;
  /** The board's last version in the log (eventstore."Stream", kept whatever retention drops); null before its first event. */
  accessHead: number | null;
}

/**
 * The stored facts of the board `boardId` (an SQL expression of the query it is added to), the
 * caller's share and the board's last version in the event store, as `StoredAccess` columns:
 * `columns` go in the SELECT list, `joins` after its FROM item. Facts that are current cost one
 * lookup of the head; the events of a board whose facts are behind are read next (`judgeAccess`).
 */
export function accessSql(boardId: Prisma.Sql, userId: string): { columns: Prisma.Sql; joins: Prisma.Sql } {
  return {
    columns: Prisma.sql`${boardId}::text AS "accessBoardId", a."organizationId"::text AS "accessOrganizationId", a."kind" AS "accessKind",
      a."ownerId"::text AS "accessOwnerId", a."archived" AS "accessArchived", a."version" AS "accessVersion", s."permission" AS "accessShare",
      st."version" AS "accessHead"`,
    joins: Prisma.sql`LEFT JOIN items."BoardAccess" a ON a."boardId" = ${boardId}
      LEFT JOIN items."BoardAccessShare" s ON s."boardId" = ${boardId} AND s."userId" = CAST(${userId} AS uuid)
      LEFT JOIN eventstore."Stream" st ON st."aggregateId" = ${boardId}`,
  };
}

/**
 * The Board events of the log above each board's stored version, in version order. Read after the
 * head, so it holds at least the events up to it (more if a change committed in between: folded too).
 */
async function eventsAbove(prisma: PrismaClient, behind: ReadonlyMap<string, number>): Promise<Map<string, BoardEvent[]>> {
  const rows = await prisma.$queryRaw<(BoardEvent & { boardId: string })[]>`
    SELECT e."aggregateId"::text AS "boardId", e."eventType", e."version", e."organizationId"::text AS "organizationId", e."envelope"->'data' AS "data"
      FROM unnest(CAST(${[...behind.keys()]} AS uuid[]), CAST(${[...behind.values()]} AS int[])) AS b(id, version)
      JOIN eventstore."Event" e ON e."aggregateId" = b.id AND e."aggregateType" = 'Board' AND e."version" > b.version
     ORDER BY e."aggregateId", e."version"`;
  const events = new Map<string, BoardEvent[]>();
  for (const { boardId, ...event } of rows) events.set(boardId, [...(events.get(boardId) ?? []), event]);
  return events;
}

interface BaselineFacts extends FoldedBoard {
  readonly boardId: string;
  readonly shares: readonly { userId: string; permission: string }[];
}

const BASELINE_QUERY = `query BoardAccessFacts($ids: [ID!]!) {
  _boardAccess(ids: $ids) { boardId organizationId kind ownerId archived version shares { userId permission } }
}`;

export interface BoardAccessOptions {
  readonly prisma: PrismaClient;
  readonly projects: PeerClient | null;
  /** The caller, asked when the first batch runs (a context is made before authentication is checked). */
  readonly identity: () => Identity;
  readonly correlationId: string;
}

/** Per request: board ids to what the caller may do with them (null: not readable). */
export function createBoardAccessLoader(options: BoardAccessOptions): DataLoader<string, BoardFacts | null> {
  return new DataLoader<string, BoardFacts | null>(async (ids) => {
    const access = accessSql(Prisma.sql`b.id`, options.identity().userId);
    const rows = await options.prisma.$queryRaw<StoredAccess[]>`SELECT ${access.columns} FROM unnest(CAST(${ids} AS uuid[])) AS b(id) ${access.joins}`;
    const answers = await judgeAccess(options, rows);
    return ids.map((id) => answers.get(id) ?? null);
  });
}

/**
 * What the caller may do with each board of `rows` (read by `accessSql`; a board may come more
 * than once): the stored facts where the log has nothing newer, folded ones (and stored) where it
 * has, projects' answer (and stored) where folding cannot tell.
 */
export async function judgeAccess(options: BoardAccessOptions, rows: readonly StoredAccess[]): Promise<Map<string, BoardFacts | null>> {
  const { prisma } = options;
  const identity = options.identity();
  const answers = new Map<string, BoardFacts | null>();
  const boards = new Map<string, { stored: FoldedBoard | undefined; head: number | null; share: string | null }>();
  for (const row of rows) {
    if (boards.has(row.accessBoardId)) continue;
    const stored: FoldedBoard | undefined =
      row.accessVersion === null
        ? undefined
        : {
            organizationId: row.accessOrganizationId!,
            kind: row.accessKind!,
            ownerId: row.accessOwnerId!,
            archived: row.accessArchived!,
            version: row.accessVersion,
          };
    boards.set(row.accessBoardId, { stored, head: row.accessHead, share: row.accessShare });
  }
  const behind = new Map<string, number>();
  for (const [boardId, { stored, head }] of boards) if (!stored || (head !== null && head > stored.version)) behind.set(boardId, stored?.version ?? 0);
  const pendingOf = behind.size > 0 ? await eventsAbove(prisma, behind) : new Map<string, BoardEvent[]>();
  const unknown: string[] = [];
  for (const [boardId, { stored, head, share: storedShare }] of boards) {
    const pending = pendingOf.get(boardId) ?? [];
    // Facts short of the log's last version, with the events in between gone (retention): ask.
    const reaches = pending.at(-1)?.version ?? stored?.version ?? 0;
    if (head !== null && reaches < head) {
      unknown.push(boardId);
      continue;
    }
    if (stored && pending.length === 0) {
      answers.set(boardId, judge(identity, boardId, stored, storedShare ?? undefined));
      continue;
    }
    const folded = foldBoardEvents(stored, pending);
    if (!folded) {
      unknown.push(boardId);
      continue;
    }
    const share = folded.shares.has(identity.userId) ? (folded.shares.get(identity.userId) ?? undefined) : (storedShare ?? undefined);
    answers.set(boardId, judge(identity, boardId, folded.board, share));
    await storeFolded(prisma, boardId, stored?.version ?? null, folded);
  }
  if (unknown.length > 0) {
    for (const facts of await askProjects(options, unknown)) {
      if (!facts) continue;
      const share = facts.shares.find((entry) => entry.userId === identity.userId)?.permission;
      answers.set(facts.boardId, judge(identity, facts.boardId, facts, share));
      await storeBaseline(prisma, facts);
    }
  }
  return answers;
}

async function askProjects(options: BoardAccessOptions, ids: readonly string[]): Promise<(BaselineFacts | null)[]> {
  if (!options.projects) throw new Error("items subgraph has no peer for Board");
  const data = await options.projects.internal<{ _boardAccess: (BaselineFacts | null)[] }>(BASELINE_QUERY, { ids }, options.correlationId);
  return data._boardAccess;
}

/**
 * Writes folded facts back if nobody moved them meanwhile (the version they were folded from);
 * losing that race is fine: whoever won wrote the same or newer facts, and a check folds the log
 * above whatever is stored.
 */
async function storeFolded(prisma: PrismaClient, boardId: string, from: number | null, folded: Folded): Promise<void> {
  const { board } = folded;
  await prisma.$transaction(async (tx) => {
    const moved =
      from === null
        ? await tx.$executeRaw`INSERT INTO items."BoardAccess" ("boardId", "organizationId", "kind", "ownerId", "archived", "version")
            VALUES (CAST(${boardId} AS uuid), CAST(${board.organizationId} AS uuid), ${board.kind}, CAST(${board.ownerId} AS uuid), ${board.archived}, ${board.version})
            ON CONFLICT ("boardId") DO NOTHING`
        : await tx.$executeRaw`UPDATE items."BoardAccess" SET "kind" = ${board.kind}, "ownerId" = CAST(${board.ownerId} AS uuid), "archived" = ${board.archived},
              "version" = ${board.version}, "updatedAt" = now()
            WHERE "boardId" = CAST(${boardId} AS uuid) AND "version" = ${from}`;
    if (moved === 0) return;
    await applyShares(tx, boardId, folded.shares);
  });
}

/** Stores facts projects gave, unless newer ones are stored already; their shares replace the stored ones. */
async function storeBaseline(prisma: PrismaClient, facts: BaselineFacts): Promise<void> {
  await prisma.$transaction(async (tx) => {
    const moved = await tx.$executeRaw`INSERT INTO items."BoardAccess" ("boardId", "organizationId", "kind", "ownerId", "archived", "version")
        VALUES (CAST(${facts.boardId} AS uuid), CAST(${facts.organizationId} AS uuid), ${facts.kind}, CAST(${facts.ownerId} AS uuid), ${facts.archived}, ${facts.version})
        ON CONFLICT ("boardId") DO UPDATE SET "organizationId" = EXCLUDED."organizationId", "kind" = EXCLUDED."kind", "ownerId" = EXCLUDED."ownerId",
          "archived" = EXCLUDED."archived", "version" = EXCLUDED."version", "updatedAt" = now()
        WHERE items."BoardAccess"."version" < EXCLUDED."version"`;
    if (moved === 0) return;
    await tx.boardAccessShare.deleteMany({ where: { boardId: facts.boardId } });
    await tx.boardAccessShare.createMany({
      data: facts.shares.map((share) => ({ boardId: facts.boardId, userId: share.userId, permission: share.permission })),
    });
  });
}

async function applyShares(tx: Tx, boardId: string, shares: ReadonlyMap<string, string | null>): Promise<void> {
  for (const [userId, permission] of shares) {
    if (permission === null) await tx.boardAccessShare.deleteMany({ where: { boardId, userId } });
    else
      await tx.boardAccessShare.upsert({
        where: { boardId_userId: { boardId, userId } },
        create: { boardId, userId, permission },
        update: { permission },
      });
  }
}
