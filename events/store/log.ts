// Reading the event store (eventstore."Event", written by the outbox trigger of the migration
// 20261206060000_event_store): one aggregate's events, and the whole log in a commit-safe order for
// projections.
import type pg from "pg";
import type { DomainEvent } from "../contracts/envelope.ts";
import type { Surface } from "../../platform/identity.ts";

export type { Surface };

/** One event of the log. */
export interface LoggedEvent {
  /** The outbox sequence: the order of events within one transaction. */
  readonly sequence: bigint;
  /** The writing transaction's id (xid8, as text); with `sequence` the log position. */
  readonly transactionId: string;
  readonly eventId: string;
  readonly organizationId: string;
  readonly aggregateType: string;
  readonly aggregateId: string;
  /** The aggregate's version after the change. */
  readonly version: number;
  readonly eventType: string;
  readonly schemaVersion: number;
  /** `data.boardId`, for the events that have one. */
  readonly boardId: string | null;
  readonly userId: string | null;
  /** How the change reached us, as the envelope's metadata records it (null on events from before it did). */
  readonly surface: Surface | null;
  readonly apiKeyId: string | null;
  readonly envelope: DomainEvent;
  readonly occurredAt: Date;
}

/** A position in the log: after the event (transactionId, sequence). */
export interface LogPosition {
  readonly transactionId: string;
  readonly sequence: bigint;
}

export const LOG_START: LogPosition = { transactionId: "0", sequence: 0n };

/** Columns of `LoggedEvent`, for `SELECT ${EVENT_COLUMNS} FROM eventstore."Event" e`. */
export const EVENT_COLUMNS = `e."sequence", e."transactionId"::text AS "transactionId", e."eventId"::text AS "eventId", e."organizationId"::text AS "organizationId",
   e."aggregateType", e."aggregateId"::text AS "aggregateId", e."version", e."eventType", e."schemaVersion", e."boardId"::text AS "boardId",
   e."userId"::text AS "userId", e."surface", e."apiKeyId"::text AS "apiKeyId", e."envelope", e."occurredAt"`;

/**
 * The log position readers may go up to: the oldest transaction of this database still running at
 * the statement's snapshot (or the snapshot's xmax when none is). Events of transactions below it
 * are all committed or gone, so a transaction that commits later can never land behind a position
 * already passed (a sequence alone would allow that: it is taken at insert, not at commit).
 * `pg_snapshot_xmin` would do, but it is the whole server's: a long write transaction in another
 * database (a batch job, a test) would hold every projection back. So the snapshot's running
 * transactions are taken one by one, leaving out those pg_stat_activity shows in another database
 * (an xid belongs to one database for good; one that is not shown counts as ours, which only
 * waits longer). Same statement, same snapshot as the rows read.
 */
const HORIZON = `(SELECT coalesce(
    (SELECT min(x) FROM pg_snapshot_xip(pg_current_snapshot()) AS x
      WHERE (x::text::bigint % 4294967296) NOT IN (
        SELECT a.backend_xid::text::bigint FROM pg_stat_activity a WHERE a.backend_xid IS NOT NULL AND a.datname IS DISTINCT FROM current_database())),
    pg_snapshot_xmax(pg_current_snapshot())))`;

/**
 * Up to `limit` events after `after`, in log order, never skipping one (see HORIZON). The price is
 * that one long write transaction in this database holds every reader back until it ends.
 * Projections read through `pg` (worker code, like the relay), not Prisma.
 */
export async function readLog(db: pg.ClientBase, after: LogPosition, limit: number): Promise<LoggedEvent[]> {
  const { rows } = await db.query<Omit<LoggedEvent, "sequence"> & { sequence: string }>(
    `SELECT ${EVENT_COLUMNS} FROM eventstore."Event" e
      WHERE (e."transactionId", e."sequence") > ($1::xid8, $2::bigint)
        AND e."transactionId" < ${HORIZON}
      ORDER BY e."transactionId", e."sequence"
      LIMIT $3`,
    [after.transactionId, after.sequence.toString(), limit],
  );
  return rows.map((row) => ({ ...row, sequence: BigInt(row.sequence) }));
}

/** The position after `events` (the last one's), or `after` when there are none. */
export function positionAfter(after: LogPosition, events: readonly LoggedEvent[]): LogPosition {
  const last = events.at(-1);
  return last ? { transactionId: last.transactionId, sequence: last.sequence } : after;
}

/** How many events lie after `after` (for progress and lag; counted up to the same horizon as `readLog`). */
export async function countAfter(db: pg.ClientBase, after: LogPosition): Promise<number> {
  const { rows } = await db.query<{ count: string }>(
    `SELECT count(*) AS count FROM eventstore."Event" e
      WHERE (e."transactionId", e."sequence") > ($1::xid8, $2::bigint)
        AND e."transactionId" < ${HORIZON}`,
    [after.transactionId, after.sequence.toString()],
  );
  return Number(rows[0]?.count ?? 0);
}

/**
 * The first instant from which the log holds every event, once retention has dropped months before
 * it (eventstore."LogStart"); null while the log is whole.
 */
export async function keptFrom(db: pg.ClientBase): Promise<Date | null> {
  const { rows } = await db.query<{ keptFrom: Date }>(`SELECT "keptFrom" FROM eventstore."LogStart"`);
  return rows[0]?.keptFrom ?? null;
}

/** How far a reader at some position is behind the log's committed events. */
export interface LogLag {
  /** Committed events after the position, counted up to `LAG_COUNT_LIMIT`. */
  readonly events: number;
  /** When the first of them occurred; null when there is none. */
  readonly oldestOccurredAt: Date | null;
}

/** Where counting the events behind stops: past it, "very far behind" is all an operator needs. */
export const LAG_COUNT_LIMIT = 1_000_000;

/**
 * The committed events after `after`, including those a reader must still wait for behind an older
 * transaction (not readable yet, but already not searchable for whoever made them).
 */
export async function lagAfter(db: pg.ClientBase, after: LogPosition): Promise<LogLag> {
  const { rows } = await db.query<{ events: string; oldest: Date | null }>(
    `SELECT (SELECT count(*) FROM (SELECT 1 FROM eventstore."Event" e WHERE (e."transactionId", e."sequence") > ($1::xid8, $2::bigint) LIMIT ${LAG_COUNT_LIMIT}) AS behind) AS "events",
            (SELECT e."occurredAt" FROM eventstore."Event" e WHERE (e."transactionId", e."sequence") > ($1::xid8, $2::bigint)
              ORDER BY e."transactionId", e."sequence" LIMIT 1) AS "oldest"`,
    [after.transactionId, after.sequence.toString()],
  );
  return { events: Number(rows[0]?.events ?? 0), oldestOccurredAt: rows[0]?.oldest ?? null };
}
