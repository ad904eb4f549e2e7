// Snapshots of aggregates (eventstore."Snapshot"): an aggregate's state at a version, so rebuilding
// it at any moment folds at most N - 1 events on top of the latest snapshot before that moment.
// The folds themselves belong to the subgraph that owns the aggregate (events/ imports nothing from
// subgraphs/), and are handed in as `AggregateFold`s.
import type pg from "pg";
import { EVENT_COLUMNS, type LoggedEvent } from "./log.ts";
import type { Projection } from "./projection.ts";

/**
 * What this module's SQL needs of a connection: a `pg` client has it, and a subgraph's Prisma
 * client gets it through `$queryRawUnsafe`. Every value is sent as text and cast in the SQL, so
 * both behave the same.
 */
export interface Queryable {
  query(text: string, values?: readonly unknown[]): Promise<{ rows: unknown[] }>;
}

/** A `pg` client as a `Queryable`. */
export const pgQueryable = (db: pg.ClientBase): Queryable => ({ query: (text, values) => db.query(text, values ? [...values] : []) });

async function rowsOf<R>(db: Queryable, text: string, values: readonly unknown[]): Promise<R[]> {
  return (await db.query(text, values)).rows as R[];
}

/** How an aggregate type's state follows from its events. */
export interface AggregateFold<S> {
  readonly aggregateType: string;
  /**
   * The state after `events` (one aggregate's, version order) on top of `state` (null: none yet).
   * Null when there is still no state (the aggregate's creation is not among them). May read the
   * log through `db` for facts the events lack.
   */
  fold(db: Queryable, state: S | null, events: readonly LoggedEvent[]): Promise<S | null>;
  /** Whether the aggregate is gone for good in `state` (nothing reads it later: retention keeps no snapshot of it). */
  ended?(state: S): boolean;
}

export interface StoredSnapshot<S> {
  readonly aggregateId: string;
  readonly aggregateType: string;
  readonly organizationId: string;
  readonly version: number;
  readonly state: S;
  /** When the event of `version` happened: the snapshot stands for the aggregate from then on. */
  readonly occurredAt: Date;
}

/** Which end of an aggregate's history a read stops at; both bounds apply when both are given. */
export interface HistoryBound {
  /** The last version included. */
  readonly throughVersion?: number;
  /** The last instant included (events and snapshots that occurred at or before it). */
  readonly atOrBefore?: Date;
  /** Only this organisation's rows (readers on behalf of a caller always pass it). */
  readonly organizationId?: string;
}

const MAX_VERSION = 2_147_483_647;

function boundValues(bound: HistoryBound): [number, string | null, string | null] {
  return [bound.throughVersion ?? MAX_VERSION, bound.atOrBefore?.toISOString() ?? null, bound.organizationId ?? null];
}

/** The latest snapshot of `aggregateId` within `bound`, or null. */
export async function loadSnapshot<S>(db: Queryable, aggregateId: string, bound: HistoryBound = {}): Promise<StoredSnapshot<S> | null> {
  const [row] = await rowsOf<StoredSnapshot<S>>(
    db,
    `SELECT s."aggregateId"::text AS "aggregateId", s."aggregateType", s."organizationId"::text AS "organizationId", s."version", s."state", s."occurredAt"
       FROM eventstore."Snapshot" s
      WHERE s."aggregateId" = $1::uuid AND s."version" <= $2::int
        AND ($3::timestamptz IS NULL OR s."occurredAt" <= $3::timestamptz)
        AND ($4::uuid IS NULL OR s."organizationId" = $4::uuid)
      ORDER BY s."version" DESC
      LIMIT 1`,
    [aggregateId, ...boundValues(bound)],
  );
  return row ? { ...row, occurredAt: new Date(row.occurredAt) } : null;
}

/** Stores a snapshot; one already stored at that version is kept (so writing one is idempotent). Whether it was new. */
export async function saveSnapshot<S>(db: Queryable, snapshot: StoredSnapshot<S>): Promise<boolean> {
  const rows = await rowsOf<{ version: number }>(
    db,
    `INSERT INTO eventstore."Snapshot" ("aggregateId", "version", "aggregateType", "organizationId", "state", "occurredAt")
     VALUES ($1::uuid, $2::int, $3, $4::uuid, $5::jsonb, $6::timestamptz)
     ON CONFLICT ("aggregateId", "version") DO NOTHING
     RETURNING "version"`,
    [
      snapshot.aggregateId,
      snapshot.version,
      snapshot.aggregateType,
      snapshot.organizationId,
      JSON.stringify(snapshot.state),
      snapshot.occurredAt.toISOString(),
    ],
  );
  return rows.length > 0;
}

/** One aggregate's events after `afterVersion` within `bound`, oldest first. */
export async function readStream(db: Queryable, aggregateId: string, afterVersion: number, bound: HistoryBound = {}): Promise<LoggedEvent[]> {
  const rows = await rowsOf<Omit<LoggedEvent, "sequence"> & { sequence: string | bigint }>(
    db,
    `SELECT ${EVENT_COLUMNS} FROM eventstore."Event" e
      WHERE e."aggregateId" = $1::uuid AND e."version" > $2::int AND e."version" <= $3::int
        AND ($4::timestamptz IS NULL OR e."occurredAt" <= $4::timestamptz)
        AND ($5::uuid IS NULL OR e."organizationId" = $5::uuid)
      ORDER BY e."version", e."sequence"`,
    [aggregateId, afterVersion, ...boundValues(bound)],
  );
  return rows.map((row) => ({ ...row, sequence: BigInt(row.sequence), occurredAt: new Date(row.occurredAt) }));
}

/** An aggregate rebuilt at a bound, and how: from which snapshot, with how many events. */
export interface Rebuilt<S> {
  readonly state: S;
  /** The last version folded in (the state's version). */
  readonly version: number;
  /** When that version's event happened. */
  readonly occurredAt: Date;
  /** The snapshot it started from (null: from the first event). */
  readonly snapshotVersion: number | null;
  /** Events folded on top of the snapshot. */
  readonly folded: number;
}

/**
 * The aggregate as it was at `bound`: the latest snapshot within it plus the events after it,
 * folded. Null when it had no state yet then (or its events before then are no longer kept and no
 * snapshot stands in for them).
 */
export async function rebuild<S>(db: Queryable, fold: AggregateFold<S>, aggregateId: string, bound: HistoryBound = {}): Promise<Rebuilt<S> | null> {
  const snapshot = await loadSnapshot<S>(db, aggregateId, bound);
  const events = await readStream(db, aggregateId, snapshot?.version ?? 0, bound);
  const state = await fold.fold(db, snapshot?.state ?? null, events);
  if (state === null) return null;
  const last = events.at(-1);
  return {
    state,
    version: last?.version ?? snapshot?.version ?? 0,
    occurredAt: last?.occurredAt ?? snapshot?.occurredAt ?? new Date(0),
    snapshotVersion: snapshot?.version ?? null,
    folded: events.length,
  };
}

export interface SnapshotsOptions {
  /** A snapshot every `every` versions (SNAPSHOT_EVERY). */
  readonly every: number;
  readonly folds: readonly AggregateFold<unknown>[];
}

/**
 * Writes, for each event whose version is a multiple of `every`, the aggregate's state at that
 * version, for the aggregate types `folds` know. Snapshots are facts about the log, not a read
 * model with tables of its own: every generation writes the same rows, so create, activate and
 * drop do nothing, and a snapshot already there is kept.
 */
export function snapshotsProjection(options: SnapshotsOptions): Projection {
  if (!Number.isInteger(options.every) || options.every < 1) throw new Error(`snapshots: every must be a whole number of 1 or more, got ${options.every}`);
  const folds = new Map(options.folds.map((fold) => [fold.aggregateType, fold]));
  return {
    name: "snapshots",
    // Retention's compaction snapshots are kept, and each snapshot folds from the one before it.
    rebuildsFromCutLog: true,
    async create() {},
    async activate() {},
    async drop() {},
    async apply(client, _generation, events) {
      const due = new Map<string, { fold: AggregateFold<unknown>; versions: number[] }>();
      for (const event of events) {
        const fold = folds.get(event.aggregateType);
        if (!fold || event.version % options.every !== 0) continue;
        const entry = due.get(event.aggregateId) ?? { fold, versions: [] };
        entry.versions.push(event.version);
        due.set(event.aggregateId, entry);
      }
      const db = pgQueryable(client);
      for (const [aggregateId, { fold, versions }] of due) await snapshotAt(db, fold, aggregateId, versions);
    },
  };
}

/** Writes the aggregate's snapshots at `versions`, folding forward from the latest one below the first. */
export async function snapshotAt<S>(db: Queryable, fold: AggregateFold<S>, aggregateId: string, versions: readonly number[]): Promise<number> {
  const wanted = [...new Set(versions)].sort((a, b) => a - b);
  const first = wanted[0];
  const last = wanted.at(-1);
  if (first === undefined || last === undefined) return 0;
  const base = await loadSnapshot<S>(db, aggregateId, { throughVersion: first });
  if (base && base.version >= last) return 0;
  const events = await readStream(db, aggregateId, base?.version ?? 0, { throughVersion: last });
  let state: S | null = base?.state ?? null;
  let from = 0;
  let written = 0;
  for (const version of wanted) {
    const through = events.findLastIndex((event) => event.version <= version);
    const event = events[through];
    if (!event || event.version !== version) continue;
    state = await fold.fold(db, state, events.slice(from, through + 1));
    from = through + 1;
    if (state === null) continue;
    const saved = await saveSnapshot(db, {
      aggregateId,
      aggregateType: fold.aggregateType,
      organizationId: event.organizationId,
      version,
      state,
      occurredAt: event.occurredAt,
    });
    if (saved) written += 1;
  }
  return written;
}
