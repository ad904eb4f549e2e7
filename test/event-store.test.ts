// The event store (eventstore."Event", appended from the outbox by trigger): the store itself
// refuses a second writer at a version already stored, monthly partitions are made ahead, retention
// drops expired months after compacting them into snapshots (so items stay rebuildable from the
// horizon on), and concurrent writers on one item through the API leave a gapless log in order.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { EVENT_COLUMNS, keptFrom, type LoggedEvent } from "../events/store/log.ts";
import { dropExpired, maintainPartitions, retentionHorizon } from "../events/store/retention.ts";
import { pgQueryable, rebuild } from "../events/store/snapshots.ts";
import { ITEM_FOLD, STORE_FOLDS } from "../subgraphs/items/src/history/item-fold.ts";
import { foldItem } from "../subgraphs/items/src/history/item-state.ts";
import { migratedPgClient } from "./support/migrated-database.ts";
import { startHarness, type Harness } from "./support/harness.ts";

const ORG = "00000000-0000-4000-8000-0000000000aa";
const USER = "00000000-0000-4000-8000-0000000000d1";
const BOARD = "00000000-0000-4000-8000-0000000000bb";
const GROUP = "00000000-0000-4000-8000-0000000000c1";

interface Appended {
  readonly aggregateId: string;
  readonly version: number;
  readonly eventType: string;
  readonly data: Record<string, unknown>;
  readonly at: Date;
  readonly aggregateType?: string;
}

/** Writes one outbox row, as recordEvent does; the trigger appends it to the log. */
async function append(db: pg.ClientBase, event: Appended): Promise<void> {
  const eventId = randomUUID();
  const aggregateType = event.aggregateType ?? "Item";
  const envelope = {
    eventId,
    eventType: event.eventType,
    schemaVersion: 1,
    aggregateId: event.aggregateId,
    aggregateType,
    version: event.version,
    data: { boardId: BOARD, itemId: event.aggregateId, ...event.data },
    metadata: { correlationId: "event-store-test", userId: USER, organizationId: ORG, timestamp: event.at.toISOString(), source: "items", surface: "graphql" },
  };
  await db.query(
    `INSERT INTO events."OutboxEvent" ("id", "organizationId", "topic", "eventType", "schemaVersion", "aggregateType", "aggregateId", "aggregateVersion", "envelope")
     VALUES ($1, $2, 'item-events', $3, 1, $4, $5, $6, $7)`,
    [eventId, ORG, event.eventType, aggregateType, event.aggregateId, event.version, JSON.stringify(envelope)],
  );
}

const created = (aggregateId: string, at: Date, name = "Spec"): Appended => ({
  aggregateId,
  version: 1,
  eventType: "project.item.created",
  data: { groupId: GROUP, name, position: 1, assigneeIds: [], columnValues: [] },
  at,
});
const renamed = (aggregateId: string, version: number, at: Date): Appended => ({
  aggregateId,
  version,
  eventType: "project.item.updated",
  data: { changes: { name: { from: `v${version - 1}`, to: `v${version}` } } },
  at,
});

async function loggedEvents(db: pg.ClientBase, aggregateId: string): Promise<LoggedEvent[]> {
  const { rows } = await db.query<LoggedEvent>(`SELECT ${EVENT_COLUMNS} FROM eventstore."Event" e WHERE e."aggregateId" = $1 ORDER BY e."version"`, [aggregateId]);
  return rows.map((row) => ({ ...row, sequence: BigInt(row.sequence) }));
}

async function partitions(db: pg.ClientBase): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT c.relname AS "name" FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'eventstore."Event"'::regclass ORDER BY 1`,
  );
  return rows.map((row) => row.name);
}

const day = (text: string) => new Date(`${text}T12:00:00.000Z`);

describe("the event store", () => {
  const db = migratedPgClient("event_store");

  it("refuses a second writer at a version already stored, and a lower one, with a unique violation", async () => {
    const item = randomUUID();
    const now = new Date();
    await append(db, created(item, now));
    await append(db, renamed(item, 2, now));
    for (const version of [2, 1]) {
      await assert.rejects(append(db, renamed(item, version, now)), (error: { code?: string; message?: string }) => {
        assert.equal(error.code, "23505");
        assert.match(error.message ?? "", /already at version \d+ or later/);
        return true;
      });
    }
    // The same refusal when the log is written directly, and in a month of its own: the head is per aggregate, not per partition.
    await assert.rejects(
      db.query(
        `INSERT INTO eventstore."Event" ("sequence", "eventId", "organizationId", "aggregateType", "aggregateId", "version", "eventType", "schemaVersion", "envelope", "occurredAt")
         VALUES (0, $1, $2, 'Item', $3, 2, 'project.item.updated', 1, '{}', now() + interval '1 month')`,
        [randomUUID(), ORG, item],
      ),
      { code: "23505" },
    );
    assert.deepEqual(
      (await loggedEvents(db, item)).map((event) => event.version),
      [1, 2],
    );
    const outbox = await db.query(`SELECT count(*)::int AS count FROM events."OutboxEvent" WHERE "aggregateId" = $1`, [item]);
    assert.equal(outbox.rows[0]?.count, 2, "a refused event leaves no outbox row either: the change that wrote it fails");
  });

  it("makes the current and the next two months' partitions, once", async () => {
    const now = day("2027-06-15");
    assert.equal(await maintainPartitions(db, now), 3);
    assert.equal(await maintainPartitions(db, now), 0);
    const names = await partitions(db);
    for (const name of ["Event_2027_06", "Event_2027_07", "Event_2027_08"]) assert.ok(names.includes(name), `${name} in ${names.join(", ")}`);
  });

  it("drops months past the retention horizon after compacting each item into a snapshot, and nothing with retention off", async () => {
    await db.query(`SELECT eventstore.ensure_partitions('2026-03-01'::date, 6)`);
    const kept = randomUUID();
    const gone = randomUUID();
    const ancient = randomUUID();
    const history: Appended[] = [
      created(kept, day("2026-04-02")),
      ...Array.from({ length: 11 }, (_, index) => renamed(kept, index + 2, day(`2026-05-${String(index + 10)}`))),
      renamed(kept, 13, day("2026-06-03")),
      created(gone, day("2026-04-03")),
      { aggregateId: gone, version: 2, eventType: "project.item.deleted", data: { groupId: GROUP }, at: day("2026-04-20") },
      // Older than every monthly partition: it lands in the DEFAULT one.
      created(ancient, day("2025-01-10")),
    ];
    for (const event of history) await append(db, event);
    const everything = foldItem(null, await loggedEvents(db, kept));
    assert.equal(everything?.version, 13);
    const now = day("2026-07-20");

    assert.deepEqual(await dropExpired(db, 0, now, STORE_FOLDS), { horizon: null, dropped: [], deletedFromDefault: 0, snapshots: 0, prunedSnapshots: 0 });
    assert.equal(await keptFrom(db), null, "the log is whole");

    const result = await dropExpired(db, 2, now, STORE_FOLDS);
    assert.deepEqual(result.horizon, new Date("2026-05-01T00:00:00.000Z"));
    assert.deepEqual(result.horizon, retentionHorizon(2, now));
    assert.deepEqual(result.dropped, ["Event_2026_03", "Event_2026_04"]);
    assert.deepEqual(await keptFrom(db), new Date("2026-05-01T00:00:00.000Z"), "where the log now starts is recorded");
    assert.equal(result.deletedFromDefault, 1);
    // kept (v1, April) and ancient (v1, 2025); the deleted item needs none.
    assert.equal(result.snapshots, 2);
    const names = await partitions(db);
    assert.ok(!names.includes("Event_2026_04") && names.includes("Event_2026_05"));
    assert.deepEqual(
      (await loggedEvents(db, kept)).map((event) => event.version),
      [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
    );
    assert.deepEqual(await loggedEvents(db, gone), []);

    const rebuilt = await rebuild(pgQueryable(db), ITEM_FOLD, kept, { atOrBefore: day("2026-07-01") });
    assert.deepEqual(rebuilt?.state, everything, "rebuilt from the compaction snapshot plus the kept months");
    assert.equal(rebuilt?.snapshotVersion, 1);
    const atHorizon = await rebuild(pgQueryable(db), ITEM_FOLD, kept, { atOrBefore: new Date("2026-05-01T00:00:00.000Z") });
    assert.equal(atHorizon?.state.name, "Spec", "at the horizon: the item as the dropped month left it");
    assert.equal((await rebuild(pgQueryable(db), ITEM_FOLD, ancient, { atOrBefore: now }))?.state.name, "Spec");

    const again = await dropExpired(db, 2, now, STORE_FOLDS);
    assert.deepEqual([again.dropped, again.snapshots, again.deletedFromDefault], [[], 0, 0], "running it again changes nothing");
  });
});

describe("concurrent writers on one item", () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness("event_store_writers");
  });
  after(() => harness?.dispose());

  it("keeps its log gapless, one event per version, in version order", async () => {
    const token = await harness.token(0, "OWNER");
    const board = harness.seed.organizations[0].boards[0];
    const created = await harness.gql(token, `mutation($input: CreateItemInput!) { createItem(input: $input) { id } }`, {
      input: { boardId: board.id, groupId: board.groupIds[0], name: "Contended" },
    });
    const itemId = (created.body.data as { createItem: { id: string } }).createItem.id;
    const writers = 6;
    const perWriter = 12;
    let conflicts = 0;
    const write = async (writer: number, step: number) => {
      for (;;) {
        const result =
          step % 3 === 0
            ? await harness.gql(token, `mutation($input: CreateSubitemInput!) { createSubitem(input: $input) { id } }`, { input: { parentItemId: itemId, name: `w${writer}-${step}` } })
            : await harness.gql(token, `mutation($input: SetColumnValueInput!) { setColumnValue(input: $input) { id } }`, {
                input: { itemId, columnId: board.columnIds.NUMBER, value: writer * 100 + step },
              });
        const code = result.body.errors?.[0]?.extensions?.code;
        if (code === undefined) return;
        assert.equal(code, "CONFLICT", JSON.stringify(result.body.errors));
        conflicts += 1;
      }
    };
    await Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        for (let step = 0; step < perWriter; step += 1) await write(writer, step);
      }),
    );
    const expected = 1 + writers * perWriter;
    const item = await harness.prisma.item.findUniqueOrThrow({ where: { id: itemId } });
    assert.equal(item.version, expected);
    const client = new pg.Client({ connectionString: harness.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ version: number }>(`SELECT e."version" FROM eventstore."Event" e WHERE e."aggregateId" = $1 ORDER BY e."transactionId", e."sequence"`, [itemId]);
      assert.deepEqual(
        rows.map((row) => row.version),
        Array.from({ length: expected }, (_, index) => index + 1),
        "every version once, and the log's order (transaction, sequence) is the version order",
      );
    } finally {
      await client.end();
    }
    console.log(`event-store: ${writers} writers x ${perWriter} changes on one item: ${expected} events, versions 1..${expected}, ${conflicts} CONFLICT retries`);
  });
});
