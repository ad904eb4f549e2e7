// The projection runner (events/store/runner.ts) on a real database: the live generation follows
// the log without skipping a transaction that commits late, a rebuild fills a new generation beside
// it, resumes after being stopped, and is swapped in with nothing lost; rebuilding again gives the
// same read model. A small counting projection stands in for the real ones.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import type { LoggedEvent } from "../events/store/log.ts";
import type { Projection } from "../events/store/projection.ts";
import { CutLogError, rebuildProjection, startProjections, type ProjectionRunner } from "../events/store/runner.ts";
import { createLogger } from "../platform/logger.ts";
import { freshDatabase, type FreshDatabase } from "./support/migrated-database.ts";
import { preflight } from "./support/preflight.ts";
import { waitFor } from "./support/wait.ts";

const logger = createLogger("test-projections");
const ORG = randomUUID();

/** Per aggregate: how many events, and the last version applied (the idempotency guard). */
const tally: Projection = {
  name: "tally",
  async create(db, generation) {
    await db.query(`CREATE TABLE public."tally_g${generation}" ("aggregateId" uuid PRIMARY KEY, "events" int NOT NULL, "version" int NOT NULL)`);
  },
  async apply(db, generation, events: readonly LoggedEvent[]) {
    for (const event of events) {
      await db.query(
        `INSERT INTO public."tally_g${generation}" AS t VALUES ($1, 1, $2)
         ON CONFLICT ("aggregateId") DO UPDATE SET "events" = t."events" + 1, "version" = EXCLUDED."version" WHERE t."version" < EXCLUDED."version"`,
        [event.aggregateId, event.version],
      );
    }
  },
  async activate(db, generation) {
    await db.query(`CREATE OR REPLACE VIEW public."tally" AS SELECT * FROM public."tally_g${generation}"`);
  },
  async drop(db, generation) {
    await db.query(`DROP TABLE public."tally_g${generation}"`);
  },
};

let database: FreshDatabase;
let db: pg.Pool;

/** Writes an outbox row, as a subgraph's change does: the store appends it to the log in the same transaction. */
async function change(client: pg.Pool | pg.PoolClient, aggregateId: string, version: number): Promise<void> {
  const envelope = {
    eventId: randomUUID(),
    eventType: "project.item.updated",
    schemaVersion: 1,
    aggregateId,
    aggregateType: "Item",
    version,
    data: {},
    metadata: { correlationId: "test", organizationId: ORG, timestamp: new Date().toISOString(), source: "items" },
  };
  await client.query(
    `INSERT INTO events."OutboxEvent" (id, "organizationId", topic, "eventType", "aggregateType", "aggregateId", "aggregateVersion", envelope)
     VALUES ($1, $2, 'item-events', $3, 'Item', $4, $5, $6)`,
    [envelope.eventId, ORG, envelope.eventType, aggregateId, version, envelope],
  );
}

async function counts(): Promise<Map<string, number>> {
  // The runner makes the first generation (and the view) on its first batch, which may not have run yet.
  const { rows: view } = await db.query<{ exists: boolean }>(`SELECT to_regclass('public."tally"') IS NOT NULL AS "exists"`);
  if (!view[0]?.exists) return new Map();
  const { rows } = await db.query<{ aggregateId: string; events: number }>(`SELECT "aggregateId", "events" FROM public."tally"`);
  return new Map(rows.map((row) => [row.aggregateId, row.events]));
}

/**
 * Waits until the read model counts every event written. Not exact after `settled()`: the log is read
 * below the oldest write transaction still running, so an event can become readable a moment after
 * it committed.
 */
async function caughtUp(runner: ProjectionRunner, expected: ReadonlyMap<string, number>): Promise<void> {
  let seen = new Map<string, number>();
  await waitFor(
    "the projection to count every event",
    async () => {
      runner.wake();
      seen = await counts();
      return [...expected].every(([id, n]) => seen.get(id) === n) && seen.size === expected.size;
    },
    () => JSON.stringify([...seen]),
  );
}

async function generations(): Promise<{ generation: number; status: string; applied: string }[]> {
  const { rows } = await db.query(`SELECT "generation", "status", "applied"::text AS applied FROM eventstore."Projection" WHERE "name" = 'tally' ORDER BY "generation"`);
  return rows;
}

describe("projection runner", () => {
  let runner: ProjectionRunner;
  const versions = new Map<string, number>();
  const next = (aggregateId: string) => {
    const version = (versions.get(aggregateId) ?? 0) + 1;
    versions.set(aggregateId, version);
    return version;
  };
  const aggregates = Array.from({ length: 5 }, () => randomUUID());

  before(async () => {
    await preflight("postgres");
    database = await freshDatabase("projections");
    db = new pg.Pool({ connectionString: database.url, max: 4 });
    runner = await startProjections({ databaseUrl: database.url, projections: [tally], logger, batchSize: 7 });
  });
  after(async () => {
    await runner?.dispose();
    await db?.end();
    await database?.drop();
  });

  test("the live generation is made on first start and follows the log", async () => {
    for (let i = 0; i < 20; i += 1) {
      const aggregate = aggregates[i % aggregates.length] as string;
      await change(db, aggregate, next(aggregate));
    }
    await caughtUp(runner, versions);
    assert.deepEqual(await generations(), [{ generation: 1, status: "live", applied: "20" }]);
  });

  test("an event committed after a later one is not skipped: the later one waits for it", async () => {
    const early = await db.connect();
    const [first, second] = [randomUUID(), randomUUID()];
    try {
      await early.query("BEGIN");
      await change(early, first, 1); // takes the lower transaction id, commits last
      await change(db, second, 1);
      await runner.settled();
      assert.equal((await counts()).get(second), undefined, "the later transaction's event is held behind the open one");
      const [held] = await runner.lag();
      assert.equal(held?.events, 1, "the held event counts as lag: it is committed and not applied");
      assert.ok(held?.oldestOccurredAt, "with when it occurred");
      await early.query("COMMIT");
    } finally {
      early.release();
    }
    versions.set(first, 1);
    versions.set(second, 1);
    await caughtUp(runner, versions);
    assert.deepEqual(await runner.lag(), [{ projection: "tally", events: 0, oldestOccurredAt: null }]);
  });

  test("per aggregate, the log's order is the version order: a write from a transaction older than the aggregate's last change is refused", async () => {
    const older = await db.connect();
    const [other, contended] = [randomUUID(), randomUUID()];
    try {
      await older.query("BEGIN");
      await change(older, other, 1); // takes its transaction id now
      await change(db, contended, 1); // a younger transaction writes the aggregate first
      await assert.rejects(change(older, contended, 2), (error: { code?: string }) => error.code === "40001");
    } finally {
      await older.query("ROLLBACK");
      older.release();
    }
    versions.set(contended, 1);
    await change(db, contended, next(contended)); // retried in a new transaction, it is accepted
    await caughtUp(runner, versions);
  });

  test("a rebuild stopped midway resumes, is swapped in with every event (also those written meanwhile), and the live follower continues on it", async () => {
    const stopped = await rebuildProjection({ databaseUrl: database.url, projection: tally, logger, batchSize: 5, maxBatches: 2 });
    assert.equal(stopped.completed, false);
    assert.equal(stopped.applied, 10);
    // Changes while the rebuild is parked: the live generation takes them; the rebuild must too.
    for (const aggregate of aggregates) await change(db, aggregate, next(aggregate));
    await caughtUp(runner, versions);
    const progress: number[] = [];
    const done = await rebuildProjection({ databaseUrl: database.url, projection: tally, logger, batchSize: 5, onProgress: (state) => progress.push(state.applied) });
    assert.equal(done.completed, true);
    assert.equal(done.resumed, true);
    assert.equal(done.generation, 2);
    assert.equal(done.replaced, 1);
    assert.ok(progress.length > 1 && progress.at(-1) === done.applied, `progress: ${progress.join(",")}`);
    // Events still held back at the swap (behind another transaction) are the live follower's to apply.
    await caughtUp(runner, versions);
    assert.deepEqual(
      (await generations()).map(({ generation, status }) => ({ generation, status })),
      [
        { generation: 1, status: "retired" },
        { generation: 2, status: "live" },
      ],
    );
    const { rows } = await db.query(`SELECT to_regclass('public."tally_g1"') AS "table"`);
    assert.equal(rows[0].table, null, "the replaced generation's table is dropped");
    const aggregate = aggregates[0] as string;
    await change(db, aggregate, next(aggregate));
    await caughtUp(runner, versions);
  });

  test("rebuilding again gives the same read model", async () => {
    const done = await rebuildProjection({ databaseUrl: database.url, projection: tally, logger });
    assert.equal(done.generation, 3);
    assert.equal(done.resumed, false);
    await caughtUp(runner, versions);
  });

  test("a log that retention has cut is not rebuilt from, unless the projection says it can be", async () => {
    // What retention records when it drops a month (test/event-store.test.ts).
    await db.query(`INSERT INTO eventstore."LogStart" ("keptFrom") VALUES ('2026-05-01T00:00:00Z')`);
    try {
      await assert.rejects(
        rebuildProjection({ databaseUrl: database.url, projection: tally, logger }),
        (error: Error) => error instanceof CutLogError && /tally cannot be rebuilt: the event log starts at 2026-05-01T00:00:00.000Z/.test(error.message),
      );
      assert.deepEqual(
        (await generations()).map(({ generation, status }) => ({ generation, status })).filter(({ status }) => status !== "retired"),
        [{ generation: 3, status: "live" }],
        "no generation started; the live one serves on",
      );
      const done = await rebuildProjection({ databaseUrl: database.url, projection: { ...tally, rebuildsFromCutLog: true }, logger });
      assert.equal(done.generation, 4);
      await caughtUp(runner, versions);
    } finally {
      await db.query(`DELETE FROM eventstore."LogStart"`);
    }
  });
});
