// The search benchmark's database: a fresh PostgreSQL database (default `bench_search`), migrated,
// then filled with SQL (generate_series, no API) with two organisations (50 people of mixed roles
// and 2,000 boards in the measured one; 10 people and 20 boards in the one that must never leak),
// 1,000,000 items and ~1 comment per item whose words follow a Zipf–Mandelbrot law (dataset.ts).
// Search is fed by events, so the seed writes the EVENTS into eventstore."Event" (valid envelopes,
// per-aggregate versions through the store's own claim trigger, monthly partitions) beside the rows
// the stack reads to authenticate and authorise (users, memberships, boards, shares, groups,
// columns, items.BoardAccess facts) and to serve items and comments.
//
//   npx node bench/search/seed.ts                      # 1,000,000 items (~15-25 min on 2 shared cores)
//   npx node bench/search/seed.ts --items 100000       # a quick one
//
// Options: --items N, --boards N, --comments-per-item X, --database NAME (bench_search, or
// bench_search_<items> for another --items),
// --fresh (drop and recreate the database first). Resumable: each phase (people, boards, then items
// in chunks of 5,000 with their comments and events) commits with its progress row, so a stopped
// seed goes on where it was; a finished one is left alone. The same options always give the same
// rows and ids; other options on an existing database are refused (use --fresh or --database).
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { envelopeSchema } from "../../events/contracts/envelope.ts";
import { validateEvent } from "../../events/contracts/registry.ts";
import { migrate } from "../../prisma/tools/migrate.ts";
import { ADMIN_DATABASE_URL, fmt, loadAverage, now } from "../subscriptions/lib.ts";
import { DEFAULT_DATASET, FOREIGN_MARKER, ROLES, STATUS_LABELS, VOCABULARY_SIZE, ZIPF_OFFSET, benchUuid, organizationsOf, personName, vocabulary, type DatasetOptions } from "./dataset.ts";

/**
 * Items per transaction. Small, because a running transaction holds back every projection on the
 * server (the log is read only below the oldest transaction still running, any database's): a
 * chunk takes a few seconds, not a minute. A resumed seed also loses at most one chunk.
 */
const CHUNK = 5_000;
/** Days over which items are created; their renames, status changes and comments follow within 5 days. */
const ITEM_DAYS = 100;
const DAY_MS = 86_400_000;

export interface SeedOptions extends DatasetOptions {
  readonly database: string;
  readonly fresh: boolean;
}

export interface SeedResult {
  readonly url: string;
  readonly database: string;
  /** Wall seconds spent seeding in this call (0 when it was there already). */
  readonly seconds: number;
  /** Seconds recorded for every phase, across resumed runs. */
  readonly totalSeconds: number;
  readonly skipped: boolean;
  /** When the seed's history ends (events up to ~this instant). */
  readonly anchor: Date;
  readonly counts: Readonly<Record<string, number>>;
}

export function databaseUrl(database: string): string {
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

const VERBOSE = process.env.BENCH_SEED_VERBOSE === "1";

/** `client` whose every statement's time and first line are printed. */
function timedClient(client: pg.Client, log: (line: string) => void): Pick<pg.Client, "query"> {
  return {
    query: (async (...args: Parameters<pg.Client["query"]>) => {
      const started = now();
      const result = await (client.query as (...a: unknown[]) => Promise<unknown>)(...args);
      const text = typeof args[0] === "string" ? args[0] : "";
      log(`    ${fmt(now() - started, 0)} ms  ${text.trim().split("\n")[0]?.slice(0, 100)}`);
      return result;
    }) as pg.Client["query"],
  };
}

async function withClient<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** Creates (or with `fresh`, recreates) the database and applies the migrations. */
async function prepareDatabase(options: SeedOptions): Promise<string> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(options.database)) throw new Error(`--database: not a plain name: ${options.database}`);
  await withClient(ADMIN_DATABASE_URL, async (client) => {
    if (options.fresh) await client.query(`DROP DATABASE IF EXISTS ${options.database} WITH (FORCE)`);
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [options.database]);
    if (!rowCount) await client.query(`CREATE DATABASE ${options.database}`);
  });
  const url = databaseUrl(options.database);
  await migrate(url);
  return url;
}

// ───────────────────────────── the generator's own schema ─────────────────────────────

/**
 * Deterministic helpers in schema `bench` of the benchmark database: ids and uniform numbers from
 * MD5s of keys (so a chunk redone gives the same rows), a Zipf rank, n words drawn from it.
 */
const GENERATOR_SQL = `
CREATE SCHEMA IF NOT EXISTS bench;
CREATE OR REPLACE FUNCTION bench.uuid(key text) RETURNS uuid LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
  $$ SELECT (substr(h, 1, 12) || '5' || substr(h, 14, 3) || '8' || substr(h, 18))::uuid FROM (SELECT md5('sunday-bench:' || key) AS h) x $$;
CREATE OR REPLACE FUNCTION bench.u(key text) RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
  $$ SELECT (('x' || substr(md5(key), 1, 13))::bit(52)::bigint / 4503599627370496.0)::double precision $$;
CREATE OR REPLACE FUNCTION bench.zipf(u double precision) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
  $$ SELECT least(${VOCABULARY_SIZE}, greatest(1, floor(${ZIPF_OFFSET + 1} * power(${VOCABULARY_SIZE + ZIPF_OFFSET + 1}.0 / ${ZIPF_OFFSET + 1}, u) - ${ZIPF_OFFSET})::integer)) $$;
CREATE TABLE IF NOT EXISTS bench.vocab (rank integer PRIMARY KEY, word text NOT NULL UNIQUE);
-- One index lookup per word: a join of the n words with the vocabulary hashes all 20,000 (100x slower).
CREATE OR REPLACE FUNCTION bench.words(key text, n integer) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS
  $$ SELECT string_agg((SELECT v.word FROM bench.vocab v WHERE v.rank = bench.zipf(bench.u(key || ':' || k))), ' ' ORDER BY k) FROM generate_series(1, n) k $$;
CREATE OR REPLACE FUNCTION bench.capital(s text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
  $$ SELECT upper(left(s, 1)) || substr(s, 2) $$;
CREATE OR REPLACE FUNCTION bench.iso(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
  $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;
CREATE TABLE IF NOT EXISTS bench.meta (key text PRIMARY KEY, value jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS bench.progress (phase text PRIMARY KEY, rows bigint NOT NULL, events bigint NOT NULL, seconds double precision NOT NULL,
  done_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS bench.org (org integer PRIMARY KEY, id uuid NOT NULL, people integer NOT NULL, writers integer NOT NULL,
  boards integer NOT NULL, first_board integer NOT NULL, items integer NOT NULL);
CREATE TABLE IF NOT EXISTS bench.person (org integer NOT NULL, n integer NOT NULL, id uuid NOT NULL UNIQUE, role text NOT NULL, name text NOT NULL,
  writer_rank integer, PRIMARY KEY (org, n));
CREATE INDEX IF NOT EXISTS person_writer ON bench.person (org, writer_rank);
CREATE TABLE IF NOT EXISTS bench.board (b integer PRIMARY KEY, org integer NOT NULL, id uuid NOT NULL UNIQUE, kind text NOT NULL, owner_id uuid NOT NULL,
  status_column uuid NOT NULL, created_at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS bench.share (b integer NOT NULL, person_id uuid NOT NULL, permission text NOT NULL, PRIMARY KEY (b, person_id));
`;

/**
 * Events staged per phase, then appended to the log in occurrence order (per aggregate that is
 * version order), each with the next outbox sequence number, so later live events follow them.
 */
export const STAGE_EVENTS_SQL = `
CREATE TEMP TABLE ev (
  event_id uuid NOT NULL, org_id uuid NOT NULL, aggregate_type text NOT NULL, aggregate_id uuid NOT NULL, version integer NOT NULL,
  event_type text NOT NULL, board_id uuid, user_id uuid, source text NOT NULL, data jsonb NOT NULL, at timestamptz NOT NULL
) ON COMMIT DROP`;

/** Whether envelopes carry `metadata.surface` (the seed writes "graphql" there when they do). */
export function surfaceRecorded(): boolean {
  return Boolean((envelopeSchema.properties as { metadata?: { properties?: Record<string, unknown> } }).metadata?.properties?.surface);
}

export function appendEventsSql(surface: boolean): string {
  const surfaceJson = surface ? `|| jsonb_build_object('surface', 'graphql')` : "";
  return `
INSERT INTO eventstore."Event" ("sequence", "eventId", "organizationId", "aggregateType", "aggregateId", "version", "eventType", "schemaVersion",
  "boardId", "userId", "surface", "apiKeyId", "envelope", "occurredAt")
SELECT nextval(pg_get_serial_sequence('events."OutboxEvent"', 'sequence')), s.event_id, s.org_id, s.aggregate_type, s.aggregate_id, s.version,
  s.event_type, 1, s.board_id, s.user_id, ${surface ? "'graphql'" : "NULL"}, NULL,
  jsonb_build_object('eventId', s.event_id, 'eventType', s.event_type, 'schemaVersion', 1, 'aggregateId', s.aggregate_id,
    'aggregateType', s.aggregate_type, 'version', s.version, 'data', s.data,
    'metadata', jsonb_strip_nulls(jsonb_build_object('correlationId', 'bench-seed', 'userId', s.user_id, 'organizationId', s.org_id,
      'timestamp', bench.iso(s.at), 'source', s.source)) ${surfaceJson}),
  s.at
FROM (SELECT * FROM ev ORDER BY at, aggregate_id, version) s`;
}

// ───────────────────────────── phases ─────────────────────────────

interface Context {
  /** `client.query`, timed per statement when BENCH_SEED_VERBOSE=1. */
  readonly client: Pick<pg.Client, "query">;
  readonly options: SeedOptions;
  readonly anchor: Date;
  readonly appendEvents: string;
}

/** Runs `work` in one transaction with its progress row, unless that phase is done already. */
async function phase(context: Context, name: string, work: () => Promise<number>): Promise<boolean> {
  const { client } = context;
  const done = await client.query("SELECT 1 FROM bench.progress WHERE phase = $1", [name]);
  if (done.rowCount) return false;
  const started = now();
  await client.query("BEGIN");
  try {
    await client.query(STAGE_EVENTS_SQL);
    const rows = await work();
    const appended = await client.query(context.appendEvents);
    await client.query("INSERT INTO bench.progress (phase, rows, events, seconds) VALUES ($1, $2, $3, $4)", [name, rows, appended.rowCount ?? 0, (now() - started) / 1000]);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK");
    throw error;
  }
  return true;
}

function emailOf(name: string, n: number, domain: string): string {
  return `${name.toLowerCase().replace(/[^a-z]+/g, ".")}.${n}@${domain}`;
}

/** Organisations, people (roles), memberships, one workspace each; their events. */
async function seedPeople(context: Context): Promise<number> {
  const { client, options, anchor } = context;
  const orgs = organizationsOf(options);
  const at = new Date(anchor.getTime() - (ITEM_DAYS + 15) * DAY_MS);
  let firstBoard = 1;
  let rows = 0;
  for (const org of orgs) {
    const orgId = benchUuid(`organization:${org.index}`);
    const people = ROLES.flatMap((role) => Array.from({ length: org.roles[role] }, () => role));
    const writers = people.filter((role) => role === "OWNER" || role === "ADMIN" || role === "MEMBER").length;
    await client.query(`INSERT INTO users."Organization" (id, name, slug, "createdAt", "updatedAt") VALUES ($1, $2, $3, $4, $4)`, [orgId, org.name, org.slug, at]);
    await client.query("INSERT INTO bench.org VALUES ($1, $2, $3, $4, $5, $6, $7)", [org.index, orgId, people.length, writers, org.boards, firstBoard, org.items]);
    firstBoard += org.boards;
    let writerRank = 0;
    for (const [n, role] of people.entries()) {
      const userId = benchUuid(`user:${org.index}:${n}`);
      const name = personName(n + (org.index - 1) * 50);
      const email = emailOf(name, n, org.domain);
      const joined = new Date(at.getTime() + (n + 1) * 60_000);
      const isWriter = role === "OWNER" || role === "ADMIN" || role === "MEMBER";
      await client.query("INSERT INTO bench.person VALUES ($1, $2, $3, $4, $5, $6)", [org.index, n, userId, role, name, isWriter ? writerRank++ : null]);
      await client.query(`INSERT INTO users."User" (id, "organizationId", email, name, "createdAt", "updatedAt") VALUES ($1, $2, $3, $4, $5, $5)`, [userId, orgId, email, name, joined]);
      const membershipId = benchUuid(`membership:${org.index}:${n}`);
      await client.query(`INSERT INTO users."Membership" (id, "organizationId", "userId", role, "createdAt", "updatedAt") VALUES ($1, $2, $3, $4::users."MembershipRole", $5, $5)`, [
        membershipId,
        orgId,
        userId,
        role,
        joined,
      ]);
      await client.query(
        `INSERT INTO ev VALUES
           (bench.uuid('ev:user:' || $1::text), $2::uuid, 'User', $1::uuid, 1, 'user.created', NULL, $1::uuid, 'users',
            jsonb_build_object('userId', $1::text, 'email', $3::text, 'name', $4::text), $5::timestamptz),
           (bench.uuid('ev:membership:' || $6::text), $2::uuid, 'Membership', $6::uuid, 1, 'member.added', NULL, $1::uuid, 'users',
            jsonb_build_object('userId', $1::text, 'role', $7::text), $5::timestamptz)`,
        [userId, orgId, email, name, joined, membershipId, role],
      );
      rows += 2;
    }
    const workspaceId = benchUuid(`workspace:${org.index}`);
    const ownerId = benchUuid(`user:${org.index}:0`);
    await client.query(`INSERT INTO projects."Workspace" (id, "organizationId", name, "createdAt", "updatedAt") VALUES ($1, $2, 'Everything', $3, $3)`, [workspaceId, orgId, at]);
    await client.query(
      `INSERT INTO ev VALUES (bench.uuid('ev:workspace:' || $1::text), $2::uuid, 'Workspace', $1::uuid, 1, 'project.workspace.created', NULL, $3::uuid,
        'projects', jsonb_build_object('workspaceId', $1::text, 'name', 'Everything'), $4::timestamptz)`,
      [workspaceId, orgId, ownerId, new Date(at.getTime() + 3_600_000)],
    );
    rows += 2;
  }
  return rows;
}

/**
 * Boards (60 % PUBLIC, 20 % PRIVATE, 20 % SHAREABLE) owned by writers, shares by role and kind
 * (guests see a few dozen boards, members some private ones), 3 groups and a STATUS column each,
 * items' BoardAccess facts at the boards' versions; events: created, then one per share.
 */
async function seedBoards(context: Context): Promise<number> {
  const { client, anchor } = context;
  const start = new Date(anchor.getTime() - (ITEM_DAYS + 10) * DAY_MS).toISOString();
  const labels = JSON.stringify(STATUS_LABELS.map(({ label, color }) => ({ label, color })));
  await client.query(`
    INSERT INTO bench.board (b, org, id, kind, owner_id, status_column, created_at)
    SELECT g.b, o.org, bench.uuid('board:' || g.b),
      CASE WHEN bench.u('kind:' || g.b) < 0.6 THEN 'PUBLIC' WHEN bench.u('kind:' || g.b) < 0.8 THEN 'PRIVATE' ELSE 'SHAREABLE' END,
      (SELECT p.id FROM bench.person p WHERE p.org = o.org AND p.writer_rank = floor(o.writers * bench.u('owner:' || g.b))::integer),
      bench.uuid('column:' || g.b || ':status'),
      date_trunc('milliseconds', timestamptz '${start}' + g.b * interval '1 minute')
    FROM bench.org o, generate_series(o.first_board, o.first_board + o.boards - 1) AS g(b)`);
  await client.query(`
    INSERT INTO bench.share (b, person_id, permission)
    SELECT bd.b, p.id,
      CASE WHEN p.role IN ('GUEST', 'VIEWER') OR bench.u('perm:' || bd.b || ':' || p.n) < 0.3 THEN 'VIEWER' ELSE 'EDITOR' END
    FROM bench.board bd JOIN bench.person p ON p.org = bd.org AND p.id <> bd.owner_id
    WHERE bench.u('share:' || bd.b || ':' || p.n) < CASE
      WHEN bd.kind = 'PRIVATE' AND p.role IN ('MEMBER', 'VIEWER') THEN 0.05
      WHEN bd.kind = 'SHAREABLE' AND p.role IN ('MEMBER', 'VIEWER') THEN 0.03
      WHEN bd.kind = 'SHAREABLE' AND p.role = 'GUEST' THEN 0.02
      WHEN p.role IN ('OWNER', 'ADMIN') THEN 0
      ELSE 0.01 END`);
  await client.query(`
    INSERT INTO projects."Board" (id, "organizationId", "workspaceId", name, kind, "ownerId", version, "createdAt", "updatedAt")
    SELECT bd.id, o.id, bench.uuid('workspace:' || bd.org), bench.capital(bench.words('board:' || bd.b, 2 + floor(3 * bench.u('blen:' || bd.b))::integer)),
      bd.kind::projects."BoardKind", bd.owner_id, 1 + (SELECT count(*) FROM bench.share s WHERE s.b = bd.b), bd.created_at,
      bd.created_at + (SELECT count(*) FROM bench.share s WHERE s.b = bd.b) * interval '1 second'
    FROM bench.board bd JOIN bench.org o USING (org)`);
  await client.query(`
    INSERT INTO projects."BoardMember" ("organizationId", "boardId", "userId", permission, "createdAt")
    SELECT b."organizationId", b.id, b."ownerId", 'OWNER', b."createdAt" FROM projects."Board" b
    UNION ALL
    SELECT o.id, bd.id, s.person_id, s.permission::projects."BoardPermission", bd.created_at + interval '1 second'
    FROM bench.share s JOIN bench.board bd USING (b) JOIN bench.org o ON o.org = bd.org`);
  await client.query(`
    INSERT INTO projects."Group" (id, "organizationId", "boardId", name, color, position, "createdAt", "updatedAt")
    SELECT bench.uuid('group:' || bd.b || ':' || g), o.id, bd.id, (ARRAY['This sprint', 'Next sprint', 'Backlog'])[g],
      (ARRAY['#579bfc', '#a25ddc', '#c4c4c4'])[g], g * 1024, bd.created_at, bd.created_at
    FROM bench.board bd JOIN bench.org o USING (org), generate_series(1, 3) g`);
  await client.query(
    `
    INSERT INTO projects."Column" (id, "organizationId", "boardId", title, type, settings, position, "createdAt", "updatedAt")
    SELECT bd.status_column, o.id, bd.id, 'Status', 'STATUS', jsonb_build_object('labels', $1::jsonb), 1024, bd.created_at, bd.created_at
    FROM bench.board bd JOIN bench.org o USING (org)`,
    [labels],
  );
  await client.query(`
    INSERT INTO items."BoardAccess" ("boardId", "organizationId", kind, "ownerId", archived, version, "updatedAt")
    SELECT id, "organizationId", kind::text, "ownerId", false, version, "updatedAt" FROM projects."Board"`);
  await client.query(`
    INSERT INTO items."BoardAccessShare" ("boardId", "userId", permission)
    SELECT "boardId", "userId", permission::text FROM projects."BoardMember"`);
  // Events: the board, then its shares (versions 2, 3, … in person order), groups, the column.
  await client.query(`
    INSERT INTO ev
    SELECT bench.uuid('ev:board:' || bd.b), o.id, 'Board', bd.id, 1, 'project.created', bd.id, bd.owner_id, 'projects',
      jsonb_build_object('boardId', bd.id, 'workspaceId', b."workspaceId", 'name', b.name, 'kind', bd.kind, 'ownerId', bd.owner_id), bd.created_at
    FROM bench.board bd JOIN bench.org o USING (org) JOIN projects."Board" b ON b.id = bd.id`);
  await client.query(`
    INSERT INTO ev
    SELECT bench.uuid('ev:share:' || s.b || ':' || s.person_id), o.id, 'Board', bd.id,
      1 + row_number() OVER (PARTITION BY s.b ORDER BY p.n), 'project.member.added', bd.id, bd.owner_id, 'projects',
      jsonb_build_object('boardId', bd.id, 'userId', s.person_id, 'permission', s.permission),
      bd.created_at + row_number() OVER (PARTITION BY s.b ORDER BY p.n) * interval '1 second'
    FROM bench.share s JOIN bench.board bd USING (b) JOIN bench.org o ON o.org = bd.org JOIN bench.person p ON p.id = s.person_id`);
  await client.query(`
    INSERT INTO ev
    SELECT bench.uuid('ev:group:' || g.id), g."organizationId", 'Group', g.id, 1, 'project.group.created', g."boardId", b."ownerId", 'projects',
      jsonb_build_object('boardId', g."boardId", 'groupId', g.id, 'name', g.name, 'color', g.color, 'position', g.position), g."createdAt" + interval '1 minute'
    FROM projects."Group" g JOIN projects."Board" b ON b.id = g."boardId"`);
  await client.query(`
    INSERT INTO ev
    SELECT bench.uuid('ev:column:' || c.id), c."organizationId", 'Column', c.id, 1, 'project.column.created', c."boardId", b."ownerId", 'projects',
      jsonb_build_object('boardId', c."boardId", 'columnId', c.id, 'title', c.title, 'type', c.type::text, 'settings', c.settings, 'position', c.position),
      c."createdAt" + interval '2 minutes'
    FROM projects."Column" c JOIN projects."Board" b ON b.id = c."boardId"`);
  const { rows } = await client.query<{ count: string }>(`SELECT count(*) AS count FROM bench.board`);
  return Number(rows[0]?.count ?? 0);
}

/**
 * Items lo..hi of both organisations (the second one's spread evenly among the first one's), each
 * created once, a quarter renamed, 30 % with a status change, comments after them; the rows as
 * they end up and every event on the way, in one transaction.
 */
async function seedItems(context: Context, lo: number, hi: number): Promise<number> {
  const { client, options, anchor } = context;
  const [first, second] = organizationsOf(options);
  const total = first.items + second.items;
  const t0 = new Date(anchor.getTime() - (ITEM_DAYS + 5) * DAY_MS).toISOString();
  const labels = `(ARRAY[${STATUS_LABELS.map(({ label }) => `'${label}'`).join(", ")}])`;
  // Cumulative shares of the starting status, for a CASE over one uniform number.
  let cumulative = 0;
  const statusCase = STATUS_LABELS.map(({ share }, index) => {
    cumulative += share;
    return index === STATUS_LABELS.length - 1 ? `ELSE ${index + 1}` : `WHEN bench.u('status:' || i) < ${cumulative} THEN ${index + 1}`;
  }).join(" ");
  const ratio = options.commentsPerItem / (1 + options.commentsPerItem);
  await client.query(`
    CREATE TEMP TABLE ci ON COMMIT DROP AS
    -- MATERIALIZED: each uniform number is computed once, not once per reference of its column.
    WITH base AS MATERIALIZED (
      SELECT i,
        CASE WHEN floor(i::numeric * ${second.items} / ${total}) > floor((i - 1)::numeric * ${second.items} / ${total}) THEN 2 ELSE 1 END AS org,
        date_trunc('milliseconds', timestamptz '${t0}' + (i - 1) * (interval '${ITEM_DAYS} days' / ${total})) AS created_at,
        CASE ${statusCase} END AS s0,
        bench.u('rename:' || i) < 0.25 AS renamed,
        bench.u('restatus:' || i) < 0.3 AS restatus,
        least(20, floor(ln(1 - bench.u('comments:' || i)) / ln(${ratio})))::integer AS comments,
        bench.u('assignees:' || i) AS ua, bench.u('board:' || i) AS ub, bench.u('creator:' || i) AS uc, bench.u('a1:' || i) AS u1, bench.u('a2:' || i) AS u2
      FROM generate_series(${lo}, ${hi}) i
    ), placed AS MATERIALIZED (
      SELECT base.*, o.id AS org_id, o.writers, o.first_board + floor(o.boards * power(ub, 1.6))::integer AS b,
        floor(o.writers * uc)::integer AS creator_rank,
        CASE WHEN ua < 0.35 THEN 0 WHEN ua < 0.85 THEN 1 ELSE 2 END AS assignees,
        floor(o.writers * u1)::integer AS a1,
        (floor(o.writers * u1)::integer + 1 + floor((o.writers - 1) * u2)::integer) % o.writers AS a2
      FROM base JOIN bench.org o USING (org)
    )
    SELECT p.i, p.org, p.org_id, p.writers, bd.id AS board_id, bd.b, bd.status_column,
      bench.uuid('item:' || p.i) AS id,
      bench.uuid('group:' || bd.b || ':' || (1 + floor(3 * bench.u('group:' || p.i))::integer)) AS group_id,
      CASE WHEN bd.kind = 'PRIVATE' THEN bd.owner_id
        ELSE (SELECT w.id FROM bench.person w WHERE w.org = p.org AND w.writer_rank = p.creator_rank) END AS creator_id,
      p.created_at,
      bench.capital(bench.words('name:' || p.i, 3 + floor(5 * bench.u('nlen:' || p.i))::integer)) || CASE WHEN p.org = 2 THEN ' ${FOREIGN_MARKER}' ELSE '' END AS name0,
      CASE WHEN p.renamed THEN bench.capital(bench.words('rename:' || p.i, 3 + floor(5 * bench.u('rlen:' || p.i))::integer))
        || CASE WHEN p.org = 2 THEN ' ${FOREIGN_MARKER}' ELSE '' END END AS name1,
      CASE WHEN p.renamed THEN date_trunc('milliseconds', p.created_at + bench.u('rename-at:' || p.i) * interval '2 days') END AS renamed_at,
      ${labels}[p.s0] AS status0,
      CASE WHEN p.restatus THEN ${labels}[1 + (p.s0 + floor(3 * bench.u('s1:' || p.i))::integer) % 4] END AS status1,
      CASE WHEN p.restatus THEN date_trunc('milliseconds', p.created_at + (1 + bench.u('status-at:' || p.i)) * interval '2 days') END AS status_at,
      1 + p.renamed::integer AS status_version,
      1 + p.renamed::integer + p.restatus::integer AS version,
      p.comments,
      (ARRAY[(SELECT w.id FROM bench.person w WHERE w.org = p.org AND w.writer_rank = p.a1),
             (SELECT w.id FROM bench.person w WHERE w.org = p.org AND w.writer_rank = p.a2)])[1:p.assignees] AS assignee_ids
    FROM placed p JOIN bench.board bd ON bd.b = p.b`);
  await client.query(`
    CREATE TEMP TABLE cc ON COMMIT DROP AS
    SELECT ci.i, j, bench.uuid('comment:' || ci.i || ':' || j) AS id, ci.org_id, ci.id AS item_id, ci.board_id,
      (SELECT w.id FROM bench.person w WHERE w.org = ci.org AND w.writer_rank = floor(ci.writers * bench.u('author:' || ci.i || ':' || j))::integer) AS author_id,
      bench.capital(bench.words('comment:' || ci.i || ':' || j, 6 + floor(15 * bench.u('clen:' || ci.i || ':' || j))::integer)) || '.' AS body,
      date_trunc('milliseconds', ci.created_at + ((j - 1) + bench.u('comment-at:' || ci.i || ':' || j)) * interval '6 hours') AS at
    FROM ci, generate_series(1, ci.comments) j`);
  await client.query(`
    INSERT INTO items."Item" (id, "organizationId", "boardId", "groupId", name, position, "creatorId", version, "createdAt", "updatedAt")
    SELECT id, org_id, board_id, group_id, coalesce(name1, name0), i * 1024, creator_id, version, created_at,
      greatest(created_at, renamed_at, status_at) FROM ci`);
  await client.query(`
    INSERT INTO items."ItemAssignee" ("organizationId", "itemId", "userId", "createdAt")
    SELECT org_id, id, a, created_at FROM ci, unnest(assignee_ids) a`);
  await client.query(`
    INSERT INTO items."ColumnValue" ("organizationId", "itemId", "columnId", value, version, "updatedAt")
    SELECT org_id, id, status_column, jsonb_build_object('label', coalesce(status1, status0)), 1 + (status1 IS NOT NULL)::integer, coalesce(status_at, created_at)
    FROM ci`);
  await client.query(`
    INSERT INTO items."Comment" (id, "organizationId", "itemId", "authorId", body, "createdAt", "updatedAt")
    SELECT id, org_id, item_id, author_id, body, at, at FROM cc`);
  await client.query(`
    INSERT INTO ev
    SELECT bench.uuid('ev:item:' || i || ':1'), org_id, 'Item', id, 1, 'project.item.created', board_id, creator_id, 'items',
      jsonb_build_object('boardId', board_id, 'groupId', group_id, 'itemId', id, 'name', name0, 'position', i * 1024,
        'assigneeIds', to_jsonb(assignee_ids), 'columnValues', jsonb_build_array(jsonb_build_object('columnId', status_column, 'value', jsonb_build_object('label', status0)))),
      created_at
    FROM ci
    UNION ALL
    SELECT bench.uuid('ev:item:' || i || ':2'), org_id, 'Item', id, 2, 'project.item.updated', board_id, creator_id, 'items',
      jsonb_build_object('boardId', board_id, 'itemId', id, 'changes', jsonb_build_object('name', jsonb_build_object('from', name0, 'to', name1))), renamed_at
    FROM ci WHERE name1 IS NOT NULL
    UNION ALL
    SELECT bench.uuid('ev:item:' || i || ':' || (status_version + 1)), org_id, 'Item', id, status_version + 1, 'project.item.column_value.set', board_id, creator_id, 'items',
      jsonb_build_object('boardId', board_id, 'itemId', id, 'columnId', status_column, 'columnType', 'STATUS',
        'from', jsonb_build_object('label', status0), 'to', jsonb_build_object('label', status1)), status_at
    FROM ci WHERE status1 IS NOT NULL
    UNION ALL
    SELECT bench.uuid('ev:comment:' || i || ':' || j), org_id, 'Comment', id, 1, 'comment.added', board_id, author_id, 'items',
      jsonb_build_object('boardId', board_id, 'itemId', item_id, 'commentId', id, 'authorId', author_id, 'body', body), at
    FROM cc`);
  const { rows } = await client.query<{ count: string }>("SELECT (SELECT count(*) FROM ci) + (SELECT count(*) FROM cc) AS count");
  return Number(rows[0]?.count ?? 0);
}

// ───────────────────────────── the whole seed ─────────────────────────────

/** Reads back (or records, on the first run) the options and anchor the data was made with. */
async function anchorOf(client: pg.Client, options: SeedOptions): Promise<Date> {
  const wanted = { items: options.items, boards: options.boards, commentsPerItem: options.commentsPerItem, generator: 1 };
  const { rows } = await client.query<{ value: typeof wanted & { anchor: string } }>("SELECT value FROM bench.meta WHERE key = 'dataset'");
  const stored = rows[0]?.value;
  if (stored) {
    const { anchor, ...made } = stored;
    // Field by field: jsonb keeps keys in its own order.
    if (Object.entries(wanted).some(([key, value]) => made[key as keyof typeof made] !== value)) {
      throw new Error(`${options.database} holds another data set (${JSON.stringify(made)}); use --fresh or another --database`);
    }
    return new Date(anchor);
  }
  const anchor = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 60_000);
  await client.query("INSERT INTO bench.meta (key, value) VALUES ('dataset', $1)", [JSON.stringify({ ...wanted, anchor: anchor.toISOString() })]);
  return anchor;
}

/** Seeds `options.database` unless it is complete already; prints progress with `log`. */
export async function seedSearch(options: SeedOptions, log: (line: string) => void = console.log): Promise<SeedResult> {
  const started = now();
  const url = await prepareDatabase(options);
  return withClient(url, async (client) => {
    await client.query("SET synchronous_commit = off");
    await client.query("SET work_mem = '64MB'");
    await client.query(GENERATOR_SQL);
    const anchor = await anchorOf(client, options);
    const complete = await client.query("SELECT 1 FROM bench.progress WHERE phase = 'analyze'");
    if (complete.rowCount) {
      const result = await summarise(client, url, options.database, anchor, 0, true);
      log(`${options.database}: seeded already (${fmt(result.totalSeconds, 0)} s when it was made); --fresh makes it again`);
      return result;
    }
    const vocabularyRows = await client.query("SELECT count(*)::integer AS count FROM bench.vocab");
    if (vocabularyRows.rows[0]?.count !== VOCABULARY_SIZE) {
      await client.query("TRUNCATE bench.vocab");
      const words = vocabulary(VOCABULARY_SIZE);
      await client.query("INSERT INTO bench.vocab (rank, word) SELECT ordinality, word FROM unnest($1::text[]) WITH ORDINALITY AS w(word, ordinality)", [words]);
    }
    // The store's monthly partitions for every month the seeded history spans, and the next one.
    const firstDay = new Date(anchor.getTime() - (ITEM_DAYS + 20) * DAY_MS).toISOString().slice(0, 10);
    await client.query(`SELECT eventstore.ensure_partitions($1::date, 6)`, [firstDay]);
    const context: Context = { client: VERBOSE ? timedClient(client, log) : client, options, anchor, appendEvents: appendEventsSql(surfaceRecorded()) };
    log(
      `${options.database}: seeding ${options.items.toLocaleString("en")} items on ${options.boards} boards (+ the second organisation), ` +
        `~${options.commentsPerItem} comment(s) per item; history ends ${anchor.toISOString()}; load average ${loadAverage()}`,
    );
    await phase(context, "people", () => seedPeople(context));
    if (await phase(context, "boards", () => seedBoards(context))) log(`  people and boards: ${fmt((now() - started) / 1000)} s`);
    const [first, second] = organizationsOf(options);
    const total = first.items + second.items;
    const itemsStarted = now();
    // Chunks are named by their range: a seed resumes after the last item done, whatever the chunk size was.
    const done = await client.query<{ through: number | null }>(`SELECT max(split_part(phase, '-', 2)::integer) AS through FROM bench.progress WHERE phase LIKE 'items:%-%'`);
    let doneHere = 0;
    let printed = 0;
    for (let lo = (done.rows[0]?.through ?? 0) + 1; lo <= total; lo += CHUNK) {
      const hi = Math.min(total, lo + CHUNK - 1);
      if (!(await phase(context, `items:${lo}-${hi}`, () => seedItems(context, lo, hi)))) continue;
      doneHere += hi - lo + 1;
      if (now() - printed < 15_000 && hi < total) continue;
      printed = now();
      const rate = doneHere / ((now() - itemsStarted) / 1000);
      log(`  items ${hi.toLocaleString("en")}/${total.toLocaleString("en")} (${fmt(rate, 0)} items/s, ETA ${fmt((total - hi) / rate, 0)} s)`);
    }
    await phase(context, "analyze", async () => {
      await client.query(`ANALYZE users."User", projects."Board", projects."BoardMember", items."Item", items."Comment", items."ItemAssignee",
        items."ColumnValue", items."BoardAccess", items."BoardAccessShare", eventstore."Event", eventstore."Stream"`);
      return 0;
    });
    await checkEnvelopes(client);
    const result = await summarise(client, url, options.database, anchor, (now() - started) / 1000, false);
    log(`${options.database}: seeded in ${fmt(result.seconds)} s here (${fmt(result.totalSeconds)} s over every run); ${describeCounts(result.counts)}`);
    return result;
  });
}

/**
 * Checks envelopes against the event catalogue (the consumers' own validator): the first of each
 * event type and a sample of the rest. Throws on the first that does not match.
 */
async function checkEnvelopes(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ envelope: unknown }>(`
    (SELECT DISTINCT ON ("eventType") envelope FROM eventstore."Event" ORDER BY "eventType", "sequence")
    UNION ALL (SELECT envelope FROM eventstore."Event" TABLESAMPLE SYSTEM (0.5) LIMIT 5000)`);
  for (const { envelope } of rows) {
    const result = validateEvent(envelope);
    if (!result.ok) throw new Error(`seeded event does not match the catalogue: ${result.reason}: ${result.errors.join("; ")}\n${JSON.stringify(envelope)}`);
  }
}

async function summarise(client: pg.Client, url: string, database: string, anchor: Date, seconds: number, skipped: boolean): Promise<SeedResult> {
  const { rows } = await client.query<Record<string, string>>(`SELECT
      (SELECT count(*) FROM users."User") AS users, (SELECT count(*) FROM projects."Board") AS boards,
      (SELECT count(*) FROM items."Item") AS items, (SELECT count(*) FROM items."Comment") AS comments,
      (SELECT sum(events) FROM bench.progress) AS events, (SELECT sum(seconds) FROM bench.progress) AS seconds,
      pg_database_size(current_database()) / 1048576 AS "databaseMb"`);
  const row = rows[0] ?? {};
  const counts = Object.fromEntries(Object.entries(row).map(([key, value]) => [key, Number(value)]));
  const { seconds: totalSeconds = 0, ...rest } = counts;
  return { url, database, seconds, totalSeconds, skipped, anchor, counts: rest };
}

export function describeCounts(counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts)
    .map(([key, value]) => `${key} ${value.toLocaleString("en")}`)
    .join(", ");
}

/** The seed's command-line options (run.ts takes the same). */
export function seedOptionsFromArgs(
  args: readonly string[],
  extra: ParseArgsOptionsConfig = {},
): {
  seed: SeedOptions;
  values: Readonly<Record<string, string | boolean | undefined>>;
} {
  const parsed = parseArgs({
    args: [...args],
    options: {
      items: { type: "string" },
      boards: { type: "string" },
      "comments-per-item": { type: "string" },
      database: { type: "string" },
      fresh: { type: "boolean", default: false },
      ...extra,
    },
  });
  const values = parsed.values as Readonly<Record<string, string | boolean | undefined>>;
  const number = (name: string, fallback: number, min: number) => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min) throw new Error(`--${name} must be a number >= ${min}, got ${String(raw)}`);
    return value;
  };
  const items = Math.round(number("items", DEFAULT_DATASET.items, 1_000));
  const seed: SeedOptions = {
    items,
    boards: Math.round(number("boards", DEFAULT_DATASET.boards, 1)),
    commentsPerItem: number("comments-per-item", DEFAULT_DATASET.commentsPerItem, 0.01),
    // Each size its own database by default, so a quick run leaves the full data set alone.
    database: typeof values.database === "string" ? values.database : items === DEFAULT_DATASET.items ? "bench_search" : `bench_search_${items}`,
    fresh: values.fresh === true,
  };
  return { seed, values };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { seed } = seedOptionsFromArgs(process.argv.slice(2));
  await seedSearch(seed);
}
