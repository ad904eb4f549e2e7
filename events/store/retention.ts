// Keeping the event log: monthly partitions made ahead of time, and (EVENT_RETENTION_MONTHS > 0)
// whole months dropped once past the horizon. Before a month goes, every aggregate a fold knows
// gets a snapshot at its last version in that month (unless one at or after it exists), so the
// aggregate can still be rebuilt at any instant from the horizon on. Where the log now starts is
// recorded (eventstore."LogStart"), so that a read model needing every event is not rebuilt from it.
import type pg from "pg";
import { pgQueryable, rebuild, saveSnapshot, type AggregateFold } from "./snapshots.ts";
import { inTransaction } from "./transaction.ts";

/** How long dropping a month may wait for the log's lock (PostgreSQL interval). */
const DROP_LOCK_TIMEOUT = "3s";

/** Months made ahead: the current one and the next two. */
const MONTHS_AHEAD = 3;

/** `YYYY-MM-DD` of `instant` in UTC. */
const dayOf = (instant: Date) => instant.toISOString().slice(0, 10);

/** Creates the monthly partitions of the current and the next two months that are missing; how many it made. */
export async function maintainPartitions(db: pg.ClientBase, now: Date): Promise<number> {
  const { rows } = await db.query<{ created: number }>(`SELECT eventstore.ensure_partitions($1::date, $2::int) AS "created"`, [dayOf(now), MONTHS_AHEAD]);
  return rows[0]?.created ?? 0;
}

/**
 * The first instant whose history is kept with `months` of retention: the start (UTC) of the month
 * `months` before `now`'s. Null when everything is kept (0).
 */
export function retentionHorizon(months: number, now: Date): Date | null {
  if (months <= 0) return null;
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - months, 1));
}

/** Records that the log holds no event before `instant` any more (never moving the start back). */
async function cutLogAt(db: pg.ClientBase, instant: Date): Promise<void> {
  await db.query(
    `INSERT INTO eventstore."LogStart" AS s ("keptFrom") VALUES ($1::timestamptz)
     ON CONFLICT ("id") DO UPDATE SET "keptFrom" = greatest(s."keptFrom", EXCLUDED."keptFrom"), "updatedAt" = now()`,
    [instant.toISOString()],
  );
}

/** A monthly partition of eventstore."Event" and the end of its range. */
interface Partition {
  readonly name: string;
  readonly until: Date;
}

/** The monthly partitions, oldest first (the DEFAULT one has no range and is not listed). */
async function monthlyPartitions(db: pg.ClientBase): Promise<Partition[]> {
  const { rows } = await db.query<{ name: string; until: Date }>(
    `SELECT c.relname AS "name", (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz AS "until"
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'eventstore."Event"'::regclass AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
      ORDER BY 2`,
  );
  return rows.map((row) => ({ name: row.name, until: new Date(row.until) }));
}

/**
 * Snapshots, for each aggregate of `fold`'s type with events in `source` (a partition, or the
 * default one's rows before a horizon), at its last version there, unless a snapshot at or after
 * that version exists. How many it wrote.
 */
async function compact(db: pg.ClientBase, fold: AggregateFold<unknown>, source: string, before: Date | null): Promise<number> {
  const { rows } = await db.query<{ aggregateId: string; version: number }>(
    `SELECT p."aggregateId"::text AS "aggregateId", max(p."version") AS "version" FROM ${source} p
      WHERE p."aggregateType" = $1 AND ($2::timestamptz IS NULL OR p."occurredAt" < $2::timestamptz)
      GROUP BY p."aggregateId"
     HAVING NOT EXISTS (SELECT 1 FROM eventstore."Snapshot" s WHERE s."aggregateId" = p."aggregateId" AND s."version" >= max(p."version"))`,
    [fold.aggregateType, before?.toISOString() ?? null],
  );
  const queryable = pgQueryable(db);
  let written = 0;
  for (const { aggregateId, version } of rows) {
    const rebuilt = await rebuild(queryable, fold, aggregateId, { throughVersion: version });
    if (!rebuilt || rebuilt.version !== version || fold.ended?.(rebuilt.state)) continue;
    const { rows: owner } = await db.query<{ organizationId: string }>(
      `SELECT e."organizationId"::text AS "organizationId" FROM eventstore."Event" e WHERE e."aggregateId" = $1::uuid AND e."version" = $2::int LIMIT 1`,
      [aggregateId, version],
    );
    const organizationId = owner[0]?.organizationId;
    if (!organizationId) continue;
    const state = { aggregateId, aggregateType: fold.aggregateType, organizationId, version, state: rebuilt.state, occurredAt: rebuilt.occurredAt };
    if (await saveSnapshot(queryable, state)) written += 1;
  }
  return written;
}

export interface RetentionResult {
  /** The first instant still kept (null: retention is off). */
  readonly horizon: Date | null;
  /** Partitions dropped, oldest first. */
  readonly dropped: readonly string[];
  /** Rows of the DEFAULT partition deleted (events from before the partitions existed). */
  readonly deletedFromDefault: number;
  /** Snapshots written so that the dropped months' aggregates can still be rebuilt. */
  readonly snapshots: number;
  /** Snapshots deleted: before the horizon and superseded by a later one also before it. */
  readonly prunedSnapshots: number;
}

/**
 * Drops the monthly partitions that end at or before the horizon of `months` (0: keeps everything),
 * oldest first, each in a transaction with its compaction (`folds`: the aggregate types to keep
 * rebuildable); then the DEFAULT partition's rows before the horizon, the same way, and the
 * snapshots nothing can use any more. `db` must be a client of its own (not inside a transaction).
 */
export async function dropExpired(db: pg.ClientBase, months: number, now: Date, folds: readonly AggregateFold<unknown>[] = []): Promise<RetentionResult> {
  const horizon = retentionHorizon(months, now);
  if (!horizon) return { horizon, dropped: [], deletedFromDefault: 0, snapshots: 0, prunedSnapshots: 0 };
  const dropped: string[] = [];
  let snapshots = 0;
  for (const partition of await monthlyPartitions(db)) {
    if (partition.until > horizon) break;
    snapshots += await inTransaction(db, async () => {
      let written = 0;
      for (const fold of folds) written += await compact(db, fold, `eventstore.${quoteName(partition.name)}`, null);
      // Dropping a partition locks the whole log (every write appends to it) until the commit right
      // after: waiting longer than this for it would stall every change, so the month waits for the
      // next round instead (this transaction's snapshots are rolled back and written again then).
      await db.query(`SET LOCAL lock_timeout = '${DROP_LOCK_TIMEOUT}'`);
      await db.query(`DROP TABLE eventstore.${quoteName(partition.name)}`);
      await cutLogAt(db, partition.until);
      return written;
    });
    dropped.push(partition.name);
  }
  const deletedFromDefault = await inTransaction(db, async () => {
    for (const fold of folds) snapshots += await compact(db, fold, `eventstore."Event_default"`, horizon);
    const deleted = await db.query(`DELETE FROM eventstore."Event_default" WHERE "occurredAt" < $1::timestamptz`, [horizon.toISOString()]);
    if ((deleted.rowCount ?? 0) > 0) await cutLogAt(db, horizon);
    return deleted.rowCount ?? 0;
  });
  const pruned = await db.query(
    `DELETE FROM eventstore."Snapshot" s WHERE s."occurredAt" < $1::timestamptz
        AND EXISTS (SELECT 1 FROM eventstore."Snapshot" n WHERE n."aggregateId" = s."aggregateId" AND n."version" > s."version" AND n."occurredAt" < $1::timestamptz)`,
    [horizon.toISOString()],
  );
  return { horizon, dropped, deletedFromDefault, snapshots, prunedSnapshots: pruned.rowCount ?? 0 };
}

/** A partition name as an SQL identifier (names come from the catalogue, never from input). */
function quoteName(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
