// History and as-of reads of one item with 10,000 events (issue 16, "Benchmarks"): p50/p99 of the
// first page of `Item.history` and of `item(id, asOf)` at random instants, through the gateway's
// GraphQL (the whole stack in this process), with the snapshots projection caught up and with the
// item's snapshots deleted. Target: p99 <= 20 ms with snapshots. The as-of fold alone (the event
// store's `rebuild`, no HTTP) is printed beside it, and as-of answers are checked against the
// recorded history.
//
//   LOG_LEVEL=warn npx node bench/history/run.ts                 (~2 min; the first run seeds ~10 s more)
//
// Options: --events N (10000), --requests N per case (300), --rounds N (2: the cases alternate, each
// round restores the snapshots it deleted), --database NAME (bench_history), --fresh.
// The database is the search benchmark's seed at its smallest (people, boards, 1,000 items: the
// stack's authorisation rows and a log around the item), plus the item: its row as it ends up and
// its events, written into the event store like the seed's (renames, status changes, assignees,
// moves; one every ~14 minutes over 99 days).
import { parseArgs } from "node:util";
import pg from "pg";
import { rebuild as rebuildAggregate, snapshotAt, type Queryable } from "../../events/store/snapshots.ts";
import { eventStoreConfig } from "../../platform/config.ts";
import { ITEM_FOLD } from "../../subgraphs/items/src/history/item-fold.ts";
import { STATUS_LABELS, benchUuid } from "../search/dataset.ts";
import { STAGE_EVENTS_SQL, appendEventsSql, seedSearch, surfaceRecorded } from "../search/seed.ts";
import { catchUpProjections, dataOf, startBenchStack, type BenchStack } from "../search/stack.ts";
import { fmt, loadAverage, now, summary, table } from "../subscriptions/lib.ts";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "10000" },
    requests: { type: "string", default: "300" },
    rounds: { type: "string", default: "2" },
    database: { type: "string", default: "bench_history" },
    fresh: { type: "boolean", default: false },
  },
});
const EVENTS = Number(values.events);
const REQUESTS = Number(values.requests);
const ROUNDS = Number(values.rounds);
if (!Number.isInteger(EVENTS) || EVENTS < 20) throw new Error(`--events must be a whole number >= 20, got ${values.events}`);
if (!Number.isInteger(REQUESTS) || REQUESTS < 10) throw new Error(`--requests must be a whole number >= 10, got ${values.requests}`);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1 || ROUNDS > REQUESTS) throw new Error(`--rounds must be a whole number from 1 to --requests, got ${values.rounds}`);
const WARMUP = 30;
const PAGE = 20;
const TARGET_P99_MS = 20;
const ITEM_ID = benchUuid("history:item");
const log = (line: string) => console.log(line);

/**
 * The item's events v1..N (one per row of `hk`: its kind and its number among that kind), staged
 * for the log, and its row as the last one leaves it. Each value is a function of its number, so
 * "from" is the same function of the number before: name(n), label(n), group(n), position(n);
 * assignees alternate: odd numbers add writer m = (n + 1) / 2, even ones remove it again.
 */
function hotItemSql(surface: boolean): string[] {
  const labels = `(ARRAY[${STATUS_LABELS.map(({ label }) => `'${label}'`).join(", ")}])`;
  const name = (n: string) => `bench.capital(bench.words('history:name:' || (${n}), 4))`;
  const label = (n: string) => `${labels}[1 + (${n}) % 4]`;
  const group = (n: string) => `bench.uuid('group:' || bd.b || ':' || (1 + (${n}) % 3))`;
  const position = (n: string) => `((${n}) + 1) * 1024`;
  const writer = (rank: string) => `(SELECT w.id FROM bench.person w WHERE w.org = bd.org AND w.writer_rank = (${rank}) % o.writers)`;
  const from = `FROM hk, bench.board bd JOIN bench.org o USING (org) WHERE bd.b = 1`;
  return [
    STAGE_EVENTS_SQL,
    `CREATE TEMP TABLE hk ON COMMIT DROP AS
     WITH t0 AS (SELECT (value->>'anchor')::timestamptz - interval '100 days' AS t0 FROM bench.meta WHERE key = 'dataset'),
     typed AS (
       SELECT step, CASE WHEN u < 0.45 THEN 'name' WHEN u < 0.75 THEN 'status' WHEN u < 0.9 THEN 'assignee' ELSE 'move' END AS change
       FROM (SELECT step, bench.u('history:kind:' || step) AS u FROM generate_series(2, ${EVENTS}) step) x
       UNION ALL SELECT 1, 'created')
     SELECT step, change, CASE WHEN change = 'created' THEN 0 ELSE row_number() OVER (PARTITION BY change ORDER BY step)::integer END AS num,
       date_trunc('milliseconds', t0 + (step - 1) * (interval '99 days' / ${EVENTS})) AS at
     FROM typed, t0`,
    `INSERT INTO ev
     SELECT bench.uuid('history:event:' || step), o.id, 'Item', '${ITEM_ID}', step,
       CASE change WHEN 'created' THEN 'project.item.created' WHEN 'status' THEN 'project.item.column_value.set' WHEN 'move' THEN 'project.item.moved'
         ELSE 'project.item.updated' END,
       bd.id, ${writer("step")}, 'items',
       CASE change
         WHEN 'created' THEN jsonb_build_object('boardId', bd.id, 'groupId', ${group("0")}, 'itemId', '${ITEM_ID}', 'name', ${name("0")},
           'position', ${position("0")}, 'assigneeIds', '[]'::jsonb,
           'columnValues', jsonb_build_array(jsonb_build_object('columnId', bd.status_column, 'value', jsonb_build_object('label', ${label("0")}))))
         WHEN 'name' THEN jsonb_build_object('boardId', bd.id, 'itemId', '${ITEM_ID}',
           'changes', jsonb_build_object('name', jsonb_build_object('from', ${name("num - 1")}, 'to', ${name("num")})))
         WHEN 'status' THEN jsonb_build_object('boardId', bd.id, 'itemId', '${ITEM_ID}', 'columnId', bd.status_column, 'columnType', 'STATUS',
           'from', jsonb_build_object('label', ${label("num - 1")}), 'to', jsonb_build_object('label', ${label("num")}))
         WHEN 'move' THEN jsonb_build_object('boardId', bd.id, 'itemId', '${ITEM_ID}',
           'from', jsonb_build_object('groupId', ${group("num - 1")}, 'position', ${position("num - 1")}),
           'to', jsonb_build_object('groupId', ${group("num")}, 'position', ${position("num")}))
         ELSE jsonb_build_object('boardId', bd.id, 'itemId', '${ITEM_ID}', 'changes', jsonb_build_object('assignees', jsonb_build_object(
           'added', CASE WHEN num % 2 = 1 THEN jsonb_build_array(${writer("(num + 1) / 2")}) ELSE '[]'::jsonb END,
           'removed', CASE WHEN num % 2 = 0 THEN jsonb_build_array(${writer("(num + 1) / 2")}) ELSE '[]'::jsonb END)))
       END,
       at
     ${from}`,
    `INSERT INTO items."Item" (id, "organizationId", "boardId", "groupId", name, position, "creatorId", version, "createdAt", "updatedAt")
     SELECT '${ITEM_ID}', o.id, bd.id, ${group("coalesce((SELECT max(num) FROM hk WHERE change = 'move'), 0)")},
       ${name("coalesce((SELECT max(num) FROM hk WHERE change = 'name'), 0)")}, ${position("coalesce((SELECT max(num) FROM hk WHERE change = 'move'), 0)")},
       ${writer("1")}, ${EVENTS}, (SELECT min(at) FROM hk), (SELECT max(at) FROM hk)
     FROM bench.board bd JOIN bench.org o USING (org) WHERE bd.b = 1`,
    `INSERT INTO items."ColumnValue" ("organizationId", "itemId", "columnId", value, version, "updatedAt")
     SELECT o.id, '${ITEM_ID}', bd.status_column, jsonb_build_object('label', ${label("coalesce((SELECT max(num) FROM hk WHERE change = 'status'), 0)")}),
       1 + (SELECT count(*) FROM hk WHERE change = 'status'), (SELECT coalesce(max(at), min(at)) FROM hk WHERE change IN ('status', 'created'))
     FROM bench.board bd JOIN bench.org o USING (org) WHERE bd.b = 1`,
    `INSERT INTO items."ItemAssignee" ("organizationId", "itemId", "userId", "createdAt")
     SELECT o.id, '${ITEM_ID}', ${writer("(c.num + 1) / 2")}, c.at
     FROM (SELECT max(num) AS num, max(at) AS at FROM hk WHERE change = 'assignee') c, bench.board bd JOIN bench.org o USING (org)
     WHERE bd.b = 1 AND c.num % 2 = 1`,
    appendEventsSql(surface),
    `INSERT INTO bench.meta (key, value) VALUES ('history', jsonb_build_object('item', '${ITEM_ID}', 'events', ${EVENTS}))`,
  ];
}

/** Writes the item unless it is there (with this many events). */
async function seedHotItem(client: pg.Client): Promise<{ seconds: number; skipped: boolean }> {
  const { rows } = await client.query<{ value: { events: number } }>(`SELECT value FROM bench.meta WHERE key = 'history'`);
  const stored = rows[0]?.value;
  if (stored) {
    if (stored.events !== EVENTS) throw new Error(`the database holds the item with ${stored.events} events; use --fresh or --events ${stored.events}`);
    return { seconds: 0, skipped: true };
  }
  const started = now();
  await client.query("BEGIN");
  try {
    for (const statement of hotItemSql(surfaceRecorded())) await client.query(statement);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK");
    throw error;
  }
  // As autovacuum would soon: planned on the seed's statistics (no item with more than 3 events),
  // a page of the item's history sorts all 10,000 events instead of merging the partitions' indexes.
  await client.query(`ANALYZE eventstore."Event", items."Item", items."ColumnValue", items."ItemAssignee"`);
  return { seconds: (now() - started) / 1000, skipped: false };
}

/**
 * The event store's reads over our client (pgQueryable's shape, built here: bench/ resolves
 * another @types/pg than the root, so a client of ours does not type-check as the root's).
 */
function queryable(client: pg.Client): Queryable {
  return { query: (text, values) => client.query(text, values ? [...values] : []) };
}

/** What the recorded history says the item was at `at`: its version and name. */
interface Expected {
  readonly at: Date;
  readonly version: number;
  readonly name: string;
}

async function expectations(client: pg.Client, instants: readonly Date[]): Promise<Expected[]> {
  const { rows } = await client.query<{ at: Date; version: number; name: string }>(
    `SELECT t.at, e.version, (SELECT coalesce(n."envelope"->'data'->'changes'->'name'->>'to', n."envelope"->'data'->>'name')
        FROM eventstore."Event" n WHERE n."aggregateId" = $1 AND n."occurredAt" <= t.at
          AND (n."eventType" = 'project.item.created' OR n."envelope"->'data'->'changes' ? 'name')
        ORDER BY n.version DESC LIMIT 1) AS name
     FROM unnest($2::timestamptz[]) AS t(at)
     JOIN LATERAL (SELECT max(version) AS version FROM eventstore."Event" WHERE "aggregateId" = $1 AND "occurredAt" <= t.at) e ON true`,
    [ITEM_ID, instants.map((instant) => instant.toISOString())],
  );
  return rows.map((row) => ({ at: new Date(row.at), version: row.version, name: row.name }));
}

/** Deterministic instants (mulberry32) between the item's first and last event. */
function instantsBetween(first: Date, last: Date, count: number, seed: number): Date[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const span = last.getTime() - first.getTime();
  return Array.from({ length: count }, () => new Date(first.getTime() + Math.floor(random() * span)));
}

const HISTORY = `query BenchItemHistory($id: ID!, $first: Int!) {
  item(id: $id) { id history(first: $first) { nodes { id eventType version occurredAt surface actor { id name } changes { field from to } } pageInfo { hasNextPage endCursor } } }
}`;
const AS_OF = `query BenchItemAsOf($id: ID!, $asOf: DateTime!) {
  item(id: $id, asOf: $asOf) { id name version updatedAt group { id } assignees { id } columnValues { value version } }
}`;

interface Row {
  readonly name: string;
  readonly snapshots: string;
  readonly values: readonly number[];
  /** Events folded per read (the as-of fold's row). */
  readonly folded?: readonly number[];
}

async function measureCase(bench: BenchStack, token: string, client: pg.Client, label: string, instants: readonly Date[], expected: readonly Expected[]): Promise<Row[]> {
  for (let i = 0; i < WARMUP; i++) {
    dataOf(await bench.query(token, HISTORY, { id: ITEM_ID, first: PAGE }), "history");
    dataOf(await bench.query(token, AS_OF, { id: ITEM_ID, asOf: instants[i % instants.length]!.toISOString() }), "asOf");
  }
  const history: number[] = [];
  for (let i = 0; i < instants.length; i++) {
    const answer = await bench.query<{ item: { history: { nodes: unknown[] } } }>(token, HISTORY, { id: ITEM_ID, first: PAGE });
    const data = dataOf(answer, "history");
    if (data.item.history.nodes.length !== PAGE) throw new Error(`history: ${data.item.history.nodes.length} entries, not ${PAGE}`);
    history.push(answer.ms);
  }
  const asOf: number[] = [];
  let wrong = 0;
  for (const [i, instant] of instants.entries()) {
    const answer = await bench.query<{ item: { name: string; version: number } | null }>(token, AS_OF, { id: ITEM_ID, asOf: instant.toISOString() });
    const item = dataOf(answer, "asOf").item;
    const want = expected[i];
    if (!item || !want || item.version !== want.version || item.name !== want.name) {
      wrong += 1;
      if (wrong <= 3) console.error(`as-of ${instant.toISOString()}: got ${JSON.stringify(item)}, the log says version ${want?.version} name ${JSON.stringify(want?.name)}`);
    }
    asOf.push(answer.ms);
  }
  if (wrong > 0) throw new Error(`${wrong} of ${instants.length} as-of answers differ from the recorded history (${label})`);
  const fold: number[] = [];
  const folded: number[] = [];
  const db = queryable(client);
  for (const instant of instants) {
    const started = now();
    const rebuilt = await rebuildAggregate(db, ITEM_FOLD, ITEM_ID, { atOrBefore: instant });
    fold.push(now() - started);
    folded.push(rebuilt?.folded ?? 0);
  }
  return [
    { name: `Item.history first page (${PAGE}), GraphQL`, snapshots: label, values: history },
    { name: "item(id, asOf), GraphQL", snapshots: label, values: asOf },
    { name: "as-of fold alone (rebuild())", snapshots: label, values: fold, folded },
  ];
}

async function main(): Promise<void> {
  console.log(`history benchmark: one item with ${EVENTS.toLocaleString("en")} events, ${REQUESTS} requests per case; Node ${process.version}; load average ${loadAverage()}`);
  const seeded = await seedSearch({ items: 1_000, boards: 5, commentsPerItem: 1, database: values.database, fresh: values.fresh === true }, log);
  const client = new pg.Client({ connectionString: seeded.url });
  await client.connect();
  let bench: BenchStack | undefined;
  try {
    const hot = await seedHotItem(client);
    console.log(hot.skipped ? `item ${ITEM_ID}: there already` : `item ${ITEM_ID}: ${EVENTS} events written in ${fmt(hot.seconds)} s`);
    const every = eventStoreConfig().snapshotEvery;
    const caughtUp = now();
    await catchUpProjections(seeded.url, log);
    const snapshots = async () => Number((await client.query<{ count: string }>(`SELECT count(*) AS count FROM eventstore."Snapshot" WHERE "aggregateId" = $1`, [ITEM_ID])).rows[0]?.count);
    const stored = await snapshots();
    console.log(`projections caught up in ${fmt((now() - caughtUp) / 1000)} s; the item has ${stored} snapshots (SNAPSHOT_EVERY=${every})`);
    if (stored < Math.floor(EVENTS / every)) throw new Error(`expected ${Math.floor(EVENTS / every)} snapshots of the item, found ${stored}`);

    const { rows } = await client.query<{ first: Date; last: Date; organizationId: string; ownerId: string }>(
      `SELECT min("occurredAt") AS first, max("occurredAt") AS last, min("organizationId"::text) AS "organizationId",
         (SELECT id::text FROM bench.person WHERE org = 1 AND role = 'OWNER' LIMIT 1) AS "ownerId"
       FROM eventstore."Event" WHERE "aggregateId" = $1`,
      [ITEM_ID],
    );
    const span = rows[0];
    if (!span) throw new Error("the item has no events");
    const instants = instantsBetween(new Date(span.first), new Date(span.last), REQUESTS, 16);
    const expected = await expectations(client, instants);

    bench = await startBenchStack(seeded.url);
    const token = await bench.token({ userId: span.ownerId, organizationId: span.organizationId, role: "OWNER" });
    console.log(`stack up at ${bench.url}`);
    // Rounds alternate the two cases, so that neither has the machine's quieter minutes to itself.
    const versions = Array.from({ length: Math.floor(EVENTS / every) }, (_, i) => (i + 1) * every);
    const perRound = Math.ceil(REQUESTS / ROUNDS);
    const merged = new Map<string, Row>();
    const keep = (measured: Row[]) => {
      for (const row of measured) {
        const key = `${row.name}|${row.snapshots}`;
        const before = merged.get(key);
        merged.set(key, { ...row, values: [...(before?.values ?? []), ...row.values], folded: [...(before?.folded ?? []), ...(row.folded ?? [])] });
      }
    };
    for (let round = 0; round < ROUNDS; round++) {
      const slice = instants.slice(round * perRound, (round + 1) * perRound);
      const wanted = expected.slice(round * perRound, (round + 1) * perRound);
      console.log(`round ${round + 1}/${ROUNDS}: with snapshots (load average ${loadAverage()})`);
      keep(await measureCase(bench, token, client, `${stored} (every ${every})`, slice, wanted));
      await client.query(`DELETE FROM eventstore."Snapshot" WHERE "aggregateId" = $1`, [ITEM_ID]);
      console.log(`round ${round + 1}/${ROUNDS}: the item's snapshots deleted (load average ${loadAverage()})`);
      keep(await measureCase(bench, token, client, "none", slice, wanted));
      await snapshotAt(queryable(client), ITEM_FOLD, ITEM_ID, versions);
    }
    const results = [...merged.values()].sort((a, b) => Number(a.snapshots === "none") - Number(b.snapshots === "none"));

    console.log(`\n## History of one item with ${EVENTS.toLocaleString("en")} events (${REQUESTS} requests per row, one at a time; load average ${loadAverage()})\n`);
    console.log(
      table(
        ["read", "snapshots", "p50 ms", "p90 ms", "p99 ms", "max ms", `target p99 <= ${TARGET_P99_MS} ms`],
        results.map((row) => {
          const s = summary(row.values);
          // The target: first page and as-of through the API, with snapshots.
          const target = row.name.includes("GraphQL") && row.snapshots !== "none" ? (s.p99 <= TARGET_P99_MS ? "met" : "not met") : "";
          const folded = row.folded?.length ? `, ~${fmt(row.folded.reduce((a, b) => a + b, 0) / row.folded.length, 0)} events folded` : "";
          return [`${row.name}${folded}`, row.snapshots, fmt(s.p50), fmt(s.p90), fmt(s.p99), fmt(s.max), target];
        }),
      ),
    );
  } finally {
    await bench?.dispose();
    await client.end();
  }
}

await main();
