// Published outbox rows are deleted once past their keeping (events/relay/outbox-pruning.ts): the
// event store keeps every event, the relay needs only the unpublished rows.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { prunePublished } from "../events/relay/outbox-pruning.ts";
import { freshDatabase, type FreshDatabase } from "./support/migrated-database.ts";
import { preflight } from "./support/preflight.ts";

const ORG = randomUUID();
const DAY = 86_400_000;

describe("outbox pruning", () => {
  let database: FreshDatabase;
  let db: pg.Pool;

  before(async () => {
    await preflight("postgres");
    database = await freshDatabase("outbox_pruning");
    db = new pg.Pool({ connectionString: database.url, max: 2 });
  });
  after(async () => {
    await db?.end();
    await database?.drop();
  });

  /** An outbox row as a change writes it (the store appends it to the log), published `publishedAgoMs` ago or not at all. */
  async function row(publishedAgoMs: number | null): Promise<string> {
    const eventId = randomUUID();
    const aggregateId = randomUUID();
    const envelope = {
      eventId,
      eventType: "project.item.updated",
      schemaVersion: 1,
      aggregateId,
      aggregateType: "Item",
      version: 1,
      data: {},
      metadata: { correlationId: "test", organizationId: ORG, timestamp: new Date().toISOString(), source: "items" },
    };
    await db.query(
      `INSERT INTO events."OutboxEvent" (id, "organizationId", topic, "eventType", "aggregateType", "aggregateId", "aggregateVersion", envelope, "publishedAt")
       VALUES ($1, $2, 'item-events', $3, 'Item', $4, 1, $5, CASE WHEN $6::float8 IS NULL THEN NULL ELSE now() - make_interval(secs => $6::float8 / 1000) END)`,
      [eventId, ORG, envelope.eventType, aggregateId, envelope, publishedAgoMs],
    );
    return eventId;
  }

  const outbox = async () => (await db.query<{ id: string }>(`SELECT id FROM events."OutboxEvent" ORDER BY sequence`)).rows.map((r) => r.id);
  const logged = async (ids: readonly string[]) => Number((await db.query(`SELECT count(*) AS n FROM eventstore."Event" WHERE "eventId" = ANY($1::uuid[])`, [ids])).rows[0].n);

  test("deletes the rows published longer ago than kept, and only those; the event store keeps every event", async () => {
    const old = [await row(2 * DAY), await row(DAY + 60_000)];
    const recent = await row(60_000);
    const unpublished = await row(null);
    assert.equal(await prunePublished(db, DAY), 2);
    assert.deepEqual(await outbox(), [recent, unpublished]);
    assert.equal(await logged([...old, recent, unpublished]), 4);
    assert.equal(await prunePublished(db, DAY), 0, "nothing more to delete");
  });

  test("goes through more rows than one batch deletes", async () => {
    await db.query(`DELETE FROM events."OutboxEvent"`);
    const many = 12_000;
    await db.query(
      `INSERT INTO events."OutboxEvent" (id, "organizationId", topic, "eventType", "aggregateType", "aggregateId", "aggregateVersion", envelope, "publishedAt")
       SELECT g.id, $1::uuid, 'item-events', 'project.item.updated', 'Item', g.aggregate, 1,
              jsonb_build_object('eventId', g.id, 'eventType', 'project.item.updated', 'schemaVersion', 1, 'aggregateId', g.aggregate, 'aggregateType', 'Item', 'version', 1, 'data', '{}'::jsonb,
                'metadata', jsonb_build_object('correlationId', 'test', 'organizationId', $1::text, 'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'source', 'items')),
              now() - interval '2 days'
         FROM (SELECT gen_random_uuid() AS id, gen_random_uuid() AS aggregate FROM generate_series(1, $2::int)) g`,
      [ORG, many],
    );
    assert.equal(await prunePublished(db, DAY), many);
    assert.deepEqual(await outbox(), []);
  });
});
