// Running projections (events/store/projection.ts): the live generation of each follows the log as
// it grows; a rebuild fills a new generation from the start beside it and swaps it in.
//
// Every batch is one transaction that locks the generation's checkpoint row, reads the log after
// it, applies, and moves the checkpoint: what was applied and where the generation stands can never
// disagree, any number of processes may run the same projection (they take turns on the row), and
// a rebuild that stops anywhere resumes where its last batch committed.
import pg from "pg";
import type { Logger } from "../../platform/logger.ts";
import { LOG_START, countAfter, keptFrom, lagAfter, positionAfter, readLog, type LogLag, type LogPosition, type LoggedEvent } from "./log.ts";
import type { Projection } from "./projection.ts";
import { inTransaction as transaction } from "./transaction.ts";

export type GenerationStatus = "building" | "live" | "retired";

interface Checkpoint extends LogPosition {
  readonly generation: number;
  readonly applied: number;
}

const CHECKPOINT_COLUMNS = `"generation", "transactionId"::text AS "transactionId", "sequence", "applied"`;

function checkpointOf(row: { generation: number; transactionId: string; sequence: string; applied: string }): Checkpoint {
  return { generation: row.generation, transactionId: row.transactionId, sequence: BigInt(row.sequence), applied: Number(row.applied) };
}

/** The generation of `name` in `status`, its row locked for this transaction; null when there is none. */
async function lockGeneration(db: pg.ClientBase, name: string, status: GenerationStatus): Promise<Checkpoint | null> {
  const { rows } = await db.query(`SELECT ${CHECKPOINT_COLUMNS} FROM eventstore."Projection" WHERE "name" = $1 AND "status" = $2 FOR UPDATE`, [name, status]);
  return rows[0] ? checkpointOf(rows[0]) : null;
}

/** Serialises the creation of generations of one projection across processes (until the transaction ends). */
async function lockProjection(db: pg.ClientBase, name: string): Promise<void> {
  await db.query(`SELECT pg_advisory_xact_lock(hashtext('eventstore.projection:' || $1))`, [name]);
}

/** Creates generation max + 1 of `projection` with `status`, its tables made (and shown to readers when live). */
async function newGeneration(db: pg.ClientBase, projection: Projection, status: "building" | "live"): Promise<Checkpoint> {
  const { rows } = await db.query<{ next: number }>(`SELECT coalesce(max("generation"), 0) + 1 AS next FROM eventstore."Projection" WHERE "name" = $1`, [
    projection.name,
  ]);
  const generation = rows[0]?.next ?? 1;
  await projection.create(db, generation);
  if (status === "live") await projection.activate(db, generation);
  await db.query(`INSERT INTO eventstore."Projection" ("name", "generation", "status") VALUES ($1, $2, $3)`, [projection.name, generation, status]);
  return { generation, ...LOG_START, applied: 0 };
}

/** Applies the next batch after `checkpoint` and moves it, in the caller's transaction. */
async function applyBatch(
  db: pg.ClientBase,
  projection: Projection,
  checkpoint: Checkpoint,
  batchSize: number,
): Promise<{ events: readonly LoggedEvent[]; checkpoint: Checkpoint }> {
  const events = await readLog(db, checkpoint, batchSize);
  if (events.length === 0) return { events, checkpoint };
  await projection.apply(db, checkpoint.generation, events);
  const next = { ...checkpoint, ...positionAfter(checkpoint, events), applied: checkpoint.applied + events.length };
  await db.query(
    `UPDATE eventstore."Projection" SET "transactionId" = $3::xid8, "sequence" = $4, "applied" = $5, "updatedAt" = now()
      WHERE "name" = $1 AND "generation" = $2`,
    [projection.name, next.generation, next.transactionId, next.sequence.toString(), next.applied],
  );
  return { events, checkpoint: next };
}

/** Where retention cut the log, when `projection` needs the events from before the cut; null otherwise. */
async function cutBeforeIt(db: pg.ClientBase, projection: Projection): Promise<Date | null> {
  return projection.rebuildsFromCutLog ? null : keptFrom(db);
}

/** A pooled client for `work`; a connection lost meanwhile fails `work`'s query, not the process. */
async function withClient<T>(pool: pg.Pool, work: (db: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // pg emits "error" on a checked-out client whose connection dies (the pool listens only while it is
  // idle); unheard, that event would be an uncaught exception. The query in flight rejects anyway.
  const heard = () => undefined;
  client.on("error", heard);
  let failed: Error | undefined;
  try {
    return await work(client);
  } catch (error) {
    failed = error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    client.off("error", heard);
    // A client that failed is dropped rather than handed to the next batch (its connection may be gone).
    client.release(failed);
  }
}

function inTransaction<T>(pool: pg.Pool, work: (db: pg.PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, (client) => transaction(client, () => work(client)));
}

/** Whether the log holds events after `after` that `readLog` cannot read yet (an older transaction still runs). */
async function heldBack(db: pg.ClientBase, after: LogPosition): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT EXISTS (SELECT 1 FROM eventstore."Event" e WHERE (e."transactionId", e."sequence") > ($1::xid8, $2::bigint)) AS "held"`,
    [after.transactionId, after.sequence.toString()],
  );
  return rows[0]?.held === true;
}

export interface ProjectionRunnerOptions {
  readonly databaseUrl: string;
  readonly projections: readonly Projection[];
  readonly logger: Logger;
  /** Events per transaction. @default 500 */
  readonly batchSize?: number;
  /** Safety net when a notification is missed (and the only wake-up where NOTIFY does not reach: PGlite). @default 1_000 */
  readonly pollIntervalMs?: number;
  /** Told after each live batch: `delayMs` from the newest applied event's occurrence to its application. */
  readonly onApplied?: (projection: string, events: number, delayMs: number) => void;
}

/** How far a projection's live generation is behind the log. */
export interface ProjectionLag extends LogLag {
  readonly projection: string;
}

export interface ProjectionRunner {
  /** Runs every projection until it has nothing left to read (a mutation in this process calls it). */
  wake(): void;
  /** How far each projection's live generation is behind (one without a live generation yet: the whole log). */
  lag(): Promise<ProjectionLag[]>;
  /**
   * Resolves once every projection has applied everything readable at the time of the call (events
   * held back behind a transaction still running are not waited for).
   */
  settled(): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * Follows the log with the live generation of each projection, making generation 1 when a
 * projection has none yet. Wakes on LISTEN "outbox_event" (the outbox trigger notifies; the log row
 * is written in the same transaction) and on `wake`, and polls as a safety net.
 */
export async function startProjections(options: ProjectionRunnerOptions): Promise<ProjectionRunner> {
  const { logger } = options;
  const batchSize = options.batchSize ?? 500;
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 2, connectionTimeoutMillis: 5_000, keepAlive: true });
  pool.on("error", (error) => logger.warn({ err: error }, "projection pool error"));
  let stopped = false;
  let running: Promise<void> | null = null;
  let again = false;
  let retry: NodeJS.Timeout | null = null;
  let failures = 0;
  /** Looks in a row that found events held back behind a running transaction (the next look waits longer). */
  let heldLooks = 0;

  async function follow(projection: Projection): Promise<void> {
    for (;;) {
      const step = await inTransaction(pool, async (db) => {
        const live = (await lockGeneration(db, projection.name, "live")) ?? (await firstGeneration(db, projection));
        const { events, checkpoint } = await applyBatch(db, projection, live, batchSize);
        return { events, checkpoint, held: events.length < batchSize && (await heldBack(db, checkpoint)) };
      });
      const newest = step.events.at(-1);
      if (newest) options.onApplied?.(projection.name, step.events.length, Date.now() - newest.occurredAt.getTime());
      if (step.held) {
        // Committed events wait behind an older transaction: look again shortly, not at the next
        // poll, and less often while it lasts (a long transaction would otherwise cost 100 looks/s).
        schedule(Math.min(10 * 2 ** heldLooks, 1_000));
        heldLooks += 1;
        return;
      }
      heldLooks = 0;
      if (step.events.length < batchSize || stopped) return;
    }
  }

  async function firstGeneration(db: pg.ClientBase, projection: Projection): Promise<Checkpoint> {
    await lockProjection(db, projection.name);
    const live = await lockGeneration(db, projection.name, "live");
    if (live) return live;
    logger.info({ projection: projection.name }, "projection has no live generation: building one from the start of the log");
    const start = await cutBeforeIt(db, projection);
    // Serving a partial read model beats serving none, but an operator must know it is partial.
    if (start)
      logger.warn({ projection: projection.name, keptFrom: start }, "the event log was cut by retention: the new generation lacks what was made before it");
    return newGeneration(db, projection, "live");
  }

  function schedule(delayMs: number): void {
    if (stopped || retry) return;
    retry = setTimeout(() => {
      retry = null;
      drain();
    }, delayMs);
  }

  function drain(): Promise<void> {
    if (stopped) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    let following: string | undefined;
    running = (async () => {
      do {
        again = false;
        for (const projection of options.projections) {
          following = projection.name;
          await follow(projection);
        }
      } while (again && !stopped);
    })()
      .then(() => {
        failures = 0;
      })
      .catch((error: unknown) => {
        failures += 1;
        logger.warn({ err: error, failures, projection: following }, "projection batch failed; retrying");
        schedule(Math.min(100 * 2 ** Math.min(failures, 6), 5_000));
      })
      .finally(() => {
        running = null;
      });
    return running;
  }

  const listener = new pg.Client({ connectionString: options.databaseUrl, connectionTimeoutMillis: 5_000, keepAlive: true });
  listener.on("error", (error) => logger.warn({ err: error }, "projection LISTEN connection lost; polling only"));
  listener.on("notification", () => void drain());
  await listener.connect();
  await listener.query("LISTEN outbox_event");
  const poll = setInterval(() => void drain(), options.pollIntervalMs ?? 1_000);
  void drain();

  return {
    wake: () => void drain(),
    async lag() {
      return withClient(pool, async (db) => {
        const behind: ProjectionLag[] = [];
        for (const projection of options.projections) {
          const { rows } = await db.query(`SELECT ${CHECKPOINT_COLUMNS} FROM eventstore."Projection" WHERE "name" = $1 AND "status" = 'live'`, [
            projection.name,
          ]);
          behind.push({ projection: projection.name, ...(await lagAfter(db, rows[0] ? checkpointOf(rows[0]) : LOG_START)) });
        }
        return behind;
      });
    },
    async settled() {
      // A drain that started before the call may have read before the latest commit: run one more.
      await drain();
      await drain();
    },
    async dispose() {
      stopped = true;
      clearInterval(poll);
      if (retry) clearTimeout(retry);
      await running;
      await listener.end().catch(() => undefined);
      await pool.end();
    },
  };
}

export interface RebuildProgress {
  readonly projection: string;
  readonly generation: number;
  readonly applied: number;
  /** Events left to apply, as last counted (recounted every few seconds). */
  readonly remaining: number;
  readonly eventsPerSecond: number;
  readonly phase: "replaying" | "swapping" | "done";
}

export interface RebuildOptions {
  readonly databaseUrl: string;
  readonly projection: Projection;
  readonly logger: Logger;
  /** @default 2_000 */
  readonly batchSize?: number;
  readonly onProgress?: (progress: RebuildProgress) => void;
  /** Stop after this many batches (tests use it to interrupt a rebuild and resume it). */
  readonly maxBatches?: number;
}

export interface RebuildResult {
  readonly generation: number;
  readonly applied: number;
  /** The generation it replaced (now dropped); null when there was none. */
  readonly replaced: number | null;
  /** False when stopped by `maxBatches` before the swap: running it again resumes. */
  readonly completed: boolean;
  readonly resumed: boolean;
}

/** A rebuild refused because the log no longer holds what it needs (running it again will not help). */
export class CutLogError extends Error {
  override readonly name = "CutLogError";
}

/**
 * Refuses to rebuild `projection` from a log that retention has cut, unless it says it can: the new
 * generation would lack everything whose events were dropped, and would then replace the live one.
 */
async function refuseCutLog(db: pg.ClientBase, projection: Projection): Promise<void> {
  const start = await cutBeforeIt(db, projection);
  if (!start) return;
  throw new CutLogError(
    `${projection.name} cannot be rebuilt: the event log starts at ${start.toISOString()} (EVENT_RETENTION_MONTHS dropped the months before), ` +
      `so a rebuild would lose everything made before then; the live generation keeps serving`,
  );
}

/**
 * Rebuilds `projection` from the start of the log into a new generation while the live one keeps
 * serving and following, then swaps it in: in one transaction that holds the live checkpoint (so
 * the live follower waits), the last events are applied, readers are pointed at the new generation
 * and it becomes live. The replaced generation is dropped. A generation left `building` by a
 * stopped rebuild is resumed from its checkpoint rather than started again.
 */
export async function rebuildProjection(options: RebuildOptions): Promise<RebuildResult> {
  const { projection, logger } = options;
  const batchSize = options.batchSize ?? 2_000;
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 2, connectionTimeoutMillis: 5_000 });
  try {
    let resumed = false;
    let checkpoint = await inTransaction(pool, async (db) => {
      await refuseCutLog(db, projection);
      await lockProjection(db, projection.name);
      const building = await lockGeneration(db, projection.name, "building");
      resumed = building !== null;
      return building ?? newGeneration(db, projection, "building");
    });
    logger.info({ projection: projection.name, generation: checkpoint.generation, resumed, from: checkpoint.applied }, "rebuilding projection");
    const startedAt = performance.now();
    const startApplied = checkpoint.applied;
    let remaining = await inTransaction(pool, (db) => countAfter(db, checkpoint));
    let countedAt = performance.now();
    const report = (phase: RebuildProgress["phase"]) => {
      const seconds = (performance.now() - startedAt) / 1_000;
      options.onProgress?.({
        projection: projection.name,
        generation: checkpoint.generation,
        applied: checkpoint.applied,
        remaining,
        eventsPerSecond: seconds > 0 ? (checkpoint.applied - startApplied) / seconds : 0,
        phase,
      });
    };
    let batches = 0;
    for (;;) {
      const step = await inTransaction(pool, async (db) => {
        const current = await lockGeneration(db, projection.name, "building");
        if (current?.generation !== checkpoint.generation)
          throw new Error(`generation ${checkpoint.generation} of ${projection.name} is no longer being built`);
        return applyBatch(db, projection, current, batchSize);
      });
      remaining = Math.max(0, remaining - step.events.length);
      checkpoint = step.checkpoint;
      batches += 1;
      if (performance.now() - countedAt > 5_000) {
        remaining = await inTransaction(pool, (db) => countAfter(db, checkpoint));
        countedAt = performance.now();
      }
      report("replaying");
      if (step.events.length < batchSize) break;
      if (options.maxBatches !== undefined && batches >= options.maxBatches) {
        return { generation: checkpoint.generation, applied: checkpoint.applied, replaced: null, completed: false, resumed };
      }
    }
    report("swapping");
    if (projection.settle) {
      const settle = projection.settle;
      await withClient(pool, (client) => settle(client, checkpoint.generation));
    }
    const replaced = await inTransaction(pool, async (db) => {
      // Holding the live row makes the live follower wait: nothing is applied to it after this.
      const live = await lockGeneration(db, projection.name, "live");
      let current = await lockGeneration(db, projection.name, "building");
      if (current?.generation !== checkpoint.generation) throw new Error(`generation ${checkpoint.generation} of ${projection.name} is no longer being built`);
      // Retention may have dropped a month while this generation was being built.
      await refuseCutLog(db, projection);
      for (;;) {
        const step = await applyBatch(db, projection, current, batchSize);
        current = step.checkpoint;
        if (step.events.length < batchSize) break;
      }
      checkpoint = current;
      await projection.activate(db, checkpoint.generation);
      if (live)
        await db.query(`UPDATE eventstore."Projection" SET "status" = 'retired', "updatedAt" = now() WHERE "name" = $1 AND "generation" = $2`, [
          projection.name,
          live.generation,
        ]);
      await db.query(
        `UPDATE eventstore."Projection" SET "status" = 'live', "completedAt" = now(), "updatedAt" = now() WHERE "name" = $1 AND "generation" = $2`,
        [projection.name, checkpoint.generation],
      );
      return live?.generation ?? null;
    });
    if (replaced !== null) await inTransaction(pool, (db) => projection.drop(db, replaced));
    remaining = 0;
    report("done");
    logger.info({ projection: projection.name, generation: checkpoint.generation, replaced, applied: checkpoint.applied }, "projection rebuilt and swapped in");
    return { generation: checkpoint.generation, applied: checkpoint.applied, replaced, completed: true, resumed };
  } finally {
    await pool.end();
  }
}
