// Search on the seeded database (seed.ts; issue 16, "Benchmarks"):
//   (a) a full rebuild of the "search" projection from the log (events/s, time), as
//       `npm run projections:rebuild -- search` does it (rebuildProjection, in this process);
//   (b) search latency p50/p99 for one-word, phrase and typo queries, as people of every role,
//       through the gateway's GraphQL (the whole stack in this process) and, separately, the
//       search statements alone (the resolver's SQL through Prisma: no HTTP, no GraphQL, no access
//       re-check of the page); every result is checked against what its caller may read, and a
//       word only the other organisation uses must find nothing;
//   (c) projection lag under an open-loop 100 changes/s through the API (renames and comments,
//       each with a unique word): mutation answer -> the live checkpoint past its event, the
//       event's occurredAt -> that, and mutation answer -> the word found by `search`.
// Targets (the issue's): search p50 <= 20 ms, p99 <= 100 ms; a change searchable within 1 s p99.
//
//   LOG_LEVEL=warn npx node bench/search/run.ts                   # 1,000,000 items (seeds first if needed)
//   LOG_LEVEL=warn npx node bench/search/run.ts --items 100000    # quick, its own data set
//
// Options: the seed's (--items, --boards, --comments-per-item, --database, --fresh); --only a,b,c;
// --skip-rebuild (keep the live generation when there is one); --queries N per kind (40);
// --rate N[,N…] changes/s, one run each (100,50); --find-every N (5: every Nth change is looked for
// with `search` once applied; all of them load the stack too much at 100/s); --lag-seconds N (30); --budget-seconds N per kind of query (240: a
// slow kind stops after that many seconds of measuring); --quiet-seconds N (60: before (b) and (c),
// wait up to that long until other processes use less than half a core).
import { randomBytes } from "node:crypto";
import pg from "pg";
import { createPrisma, type PrismaClient } from "../../platform/db.ts";
import { mulberry32 } from "../../prisma/seed.ts";
import type { Identity, Role } from "../../platform/identity.ts";
import { parseSearchArgs } from "../../subgraphs/items/src/search/input.ts";
import { candidates, headlines } from "../../subgraphs/items/src/search/query.ts";
import { searchProjection } from "../../subgraphs/items/src/search/projection.ts";
import { generationTable, SEARCH_TABLES } from "../../subgraphs/items/src/search/tables.ts";
import { FOREIGN_MARKER, VOCABULARY_SIZE } from "./dataset.ts";
import { describeCounts, seedOptionsFromArgs, seedSearch } from "./seed.ts";
import { catchUpProjections, dataOf, followUntilCaughtUp, liveProjections, rebuild, startBenchStack, type BenchStack } from "./stack.ts";
import { fmt, loadAverage, now, sleep, summary, table, waitForQuiet } from "../subscriptions/lib.ts";

const { seed: seedOptions, values } = seedOptionsFromArgs(process.argv.slice(2), {
  only: { type: "string", default: "a,b,c" },
  "skip-rebuild": { type: "boolean", default: false },
  queries: { type: "string", default: "40" },
  rate: { type: "string", default: "100,50" },
  "find-every": { type: "string", default: "5" },
  "lag-seconds": { type: "string", default: "30" },
  "budget-seconds": { type: "string", default: "240" },
  "quiet-seconds": { type: "string", default: "60" },
});
const ONLY = new Set(String(values.only).split(","));
const QUERIES = Number(values.queries);
const RATES = String(values.rate)
  .split(",")
  .map((rate) => Number(rate));
if (RATES.some((rate) => !(rate > 0))) throw new Error(`--rate must be changes/s (a list: 100,50), got ${values.rate}`);
const FIND_EVERY = Number(values["find-every"]);
const LAG_SECONDS = Number(values["lag-seconds"]);
/** Measuring time per kind of query: slow kinds stop early (the table's n says how many ran). */
const BUDGET_MS = Number(values["budget-seconds"]) * 1000;
const QUIET_SECONDS = Number(values["quiet-seconds"]);
const PAGE = 20;
const TARGET = { p50: 20, p99: 100, lagP99: 1_000 };
const log = (line: string) => console.log(line);

// ───────────────────────────── people and what they may read ─────────────────────────────

interface Person {
  readonly label: string;
  readonly identity: Identity;
  /** Boards this person may read (board-rules.ts over the projects subgraph's own rows). */
  readonly readable: ReadonlySet<string>;
}

async function peopleOf(client: pg.Client): Promise<{ measured: Person[]; foreign: Person }> {
  const { rows } = await client.query<{ org: number; id: string; role: Role; organizationId: string; readable: string[] }>(`
    SELECT DISTINCT ON (p.org, p.role) p.org, p.id::text, p.role, o.id::text AS "organizationId",
      ARRAY(SELECT b.id::text FROM projects."Board" b WHERE b."organizationId" = o.id AND b.state = 'ACTIVE' AND (
        p.role IN ('OWNER', 'ADMIN')
        OR EXISTS (SELECT 1 FROM projects."BoardMember" m WHERE m."boardId" = b.id AND m."userId" = p.id)
        OR (p.role <> 'GUEST' AND (b.kind <> 'PRIVATE' OR b."ownerId" = p.id)))) AS readable
    FROM bench.person p JOIN bench.org o USING (org)
    -- Of each role, the person who may read the most boards (a guest shared on nothing finds nothing).
    ORDER BY p.org, p.role, (SELECT count(*) FROM projects."BoardMember" m WHERE m."userId" = p.id) DESC, p.n`);
  const person = (row: (typeof rows)[number]): Person => ({
    label: `${row.role} (${row.readable.length} boards)`,
    identity: { userId: row.id, organizationId: row.organizationId, role: row.role },
    readable: new Set(row.readable),
  });
  const order: Role[] = ["OWNER", "ADMIN", "MEMBER", "VIEWER", "GUEST"];
  const measured = order.map((role) => rows.find((row) => row.org === 1 && row.role === role)).flatMap((row) => (row ? [person(row)] : []));
  const foreign = rows.find((row) => row.org === 2 && row.role === "MEMBER");
  if (!foreign) throw new Error("the second organisation has no MEMBER");
  return { measured, foreign: person(foreign) };
}

// ───────────────────────────── queries ─────────────────────────────

type Kind = "one word" | "phrase" | "typo";

interface Query {
  readonly kind: Kind;
  readonly text: string;
  /** Documents of the organisation matching it (full text, anyone's). */
  hits?: number;
}

/** A word with one letter swapped with its neighbour (or replaced when that gives the same word). */
function typo(word: string, random: () => number): string {
  const at = 1 + Math.floor(random() * (word.length - 3));
  const swapped = word.slice(0, at) + word[at + 1] + word[at] + word.slice(at + 2);
  if (swapped !== word) return swapped;
  const letter = "aeioustrnl"[Math.floor(random() * 10)] ?? "x";
  return word.slice(0, at) + (letter === word[at] ? "z" : letter) + word.slice(at + 1);
}

async function querySet(client: pg.Client, items: number): Promise<Query[]> {
  const random = mulberry32(1616);
  const vocabulary = (await client.query<{ word: string }>("SELECT word FROM bench.vocab ORDER BY rank")).rows.map((row) => row.word);
  const known = new Set(vocabulary);
  const wordAt = (rank: number) => vocabulary[Math.min(VOCABULARY_SIZE, Math.max(1, rank)) - 1] ?? "update";
  // Log-uniform ranks within a band: as many frequent as rare words.
  const band = (low: number, high: number) => Math.round(Math.exp(Math.log(low) + random() * (Math.log(high) - Math.log(low))));
  const oneWord: Query[] = [];
  const bands: [number, number][] = [
    [1, 30],
    [30, 1_000],
    [1_000, VOCABULARY_SIZE],
  ];
  for (let i = 0; i < QUERIES; i++) {
    const [low, high] = bands[i % bands.length] as [number, number];
    oneWord.push({ kind: "one word", text: wordAt(band(low, high)) });
  }
  // Two neighbouring words of the names of random items.
  const keys = Array.from({ length: QUERIES * 2 }, () => `item:${1 + Math.floor(random() * items)}`);
  const names = (
    await client.query<{ name: string }>(
      `SELECT i.name FROM items."Item" i JOIN bench.org o ON o.id = i."organizationId"
        WHERE i.id = ANY(ARRAY(SELECT bench.uuid(k) FROM unnest($1::text[]) k)) AND o.org = 1`,
      [keys],
    )
  ).rows.map((row) =>
    row.name
      .toLowerCase()
      .split(" ")
      .filter((word) => word !== FOREIGN_MARKER),
  );
  const phrase: Query[] = [];
  for (const words of names) {
    if (phrase.length >= QUERIES || words.length < 2) continue;
    const at = Math.floor(random() * (words.length - 1));
    phrase.push({ kind: "phrase", text: `"${words[at]} ${words[at + 1]}"` });
  }
  const typos: Query[] = [];
  while (typos.length < QUERIES) {
    const word = wordAt(band(5, 3_000));
    if (word.length < 6) continue;
    const wrong = typo(word, random);
    if (!known.has(wrong)) typos.push({ kind: "typo", text: wrong });
  }
  return [...oneWord, ...phrase, ...typos];
}

/** How many documents of the organisation each query matches in full text (context for the figures). */
async function countHits(client: pg.Client, organizationId: string, queries: Query[]): Promise<void> {
  for (const query of queries) {
    const { rows } = await client.query<{ count: string }>(`SELECT count(*) AS count FROM search."Document" d WHERE d."organizationId" = $1 AND d."vector" @@ websearch_to_tsquery('english', $2)`, [
      organizationId,
      query.text,
    ]);
    query.hits = Number(rows[0]?.count ?? 0);
  }
}

// ───────────────────────────── (b) latency ─────────────────────────────

const SEARCH = `query BenchSearch($q: String!, $first: Int!) {
  search(query: $q, first: $first) { nodes { type id score title snippet board { id name } updatedAt } pageInfo { hasNextPage endCursor } }
}`;

interface SearchNode {
  readonly id: string;
  readonly type: string;
  readonly board: { readonly id: string };
}

/** The resolver's statements for a first page (query.ts), as `candidates` and the snippets run them. */
async function searchSql(prisma: PrismaClient, identity: Identity, text: string): Promise<number> {
  const request = parseSearchArgs({ query: text, first: PAGE, filter: null });
  const page = (await candidates(prisma, identity, request)).slice(0, request.size);
  await headlines(
    prisma,
    page.map((hit) => hit.id),
    request.text,
  );
  return page.length;
}

interface Sample {
  readonly kind: Kind;
  readonly person: string;
  readonly graphql: number;
  readonly sql: number;
  readonly results: number;
  readonly failed: boolean;
}

async function latency(bench: BenchStack, prisma: PrismaClient, people: Person[], foreign: Person, queries: Query[]): Promise<void> {
  const tokens = new Map(await Promise.all(people.map(async (person) => [person.label, await bench.token(person.identity)] as const)));
  let leaks = 0;
  const failures: string[] = [];
  const run = async (person: Person, text: string) => {
    const answer = await bench.query<{ search: { nodes: SearchNode[] } }>(tokens.get(person.label) ?? "", SEARCH, { q: text, first: PAGE });
    // A refusal (a subgraph timeout on a slow query) is counted and shown, not fatal: its time is in the figures.
    if (answer.errors.length > 0 || !answer.data) {
      failures.push(`${person.label} ${JSON.stringify(text)}: ${answer.errors.map((error) => error.extensions?.code ?? error.message).join(", ")} after ${fmt(answer.ms, 0)} ms`);
      return { ms: answer.ms, results: 0, failed: true };
    }
    const nodes = answer.data.search.nodes;
    for (const node of nodes) {
      if (!person.readable.has(node.board.id)) {
        leaks += 1;
        if (leaks <= 3) console.error(`LEAK: ${person.label} got ${node.type} ${node.id} of board ${node.board.id} for ${JSON.stringify(text)}`);
      }
    }
    return { ms: answer.ms, results: nodes.length, failed: false };
  };
  const warmUp = (["one word", "phrase", "typo"] as const).flatMap((kind) => queries.filter((query) => query.kind === kind).slice(0, 3));
  console.log(`warm-up: ${warmUp.length} queries as ${people[0]?.label} (load average ${loadAverage()})`);
  for (const query of warmUp) if (people[0]) await run(people[0], query.text);

  const samples: Sample[] = [];
  const started = now();
  const kindStarted = new Map<Kind, number>();
  for (const query of queries) {
    const since = kindStarted.get(query.kind) ?? now();
    kindStarted.set(query.kind, since);
    if (now() - since > BUDGET_MS) continue;
    for (const person of people) {
      const graphql = await run(person, query.text);
      const sqlStarted = now();
      await searchSql(prisma, person.identity, query.text);
      samples.push({ kind: query.kind, person: person.label, graphql: graphql.ms, sql: now() - sqlStarted, results: graphql.results, failed: graphql.failed });
    }
  }
  const seconds = (now() - started) / 1000;

  // The other organisation's word, as each of ours: nothing; as one of theirs: found.
  const foreignFound: string[] = [];
  for (const person of people) {
    const { results } = await run(person, FOREIGN_MARKER);
    if (results > 0) foreignFound.push(`${person.label}: ${results}`);
  }
  const theirs = await bench.query<{ search: { nodes: SearchNode[] } }>(await bench.token(foreign.identity), SEARCH, { q: FOREIGN_MARKER, first: PAGE });
  const theirCount = dataOf(theirs, "search as the other organisation").search.nodes.length;

  const kinds: Kind[] = ["one word", "phrase", "typo"];
  const verdict = (s: ReturnType<typeof summary>) => (s.p50 <= TARGET.p50 && s.p99 <= TARGET.p99 ? "met" : "not met");
  console.log(`\n## (b) Search latency: ${queries.length} queries x ${people.length} people, one request at a time, first page of ${PAGE} (${fmt(seconds, 0)} s; load average ${loadAverage()})\n`);
  console.log(
    table(
      ["queries", "path", "p50 ms", "p90 ms", "p99 ms", "max ms", "n", "errors", `target p50 <= ${TARGET.p50}, p99 <= ${TARGET.p99}`],
      kinds.flatMap((kind) => {
        const of = samples.filter((sample) => sample.kind === kind);
        const graphql = summary(of.map((sample) => sample.graphql));
        const sql = summary(of.map((sample) => sample.sql));
        return [
          [kind, "GraphQL (gateway)", fmt(graphql.p50), fmt(graphql.p90), fmt(graphql.p99), fmt(graphql.max), String(graphql.n), String(of.filter((sample) => sample.failed).length), verdict(graphql)],
          [kind, "SQL alone", fmt(sql.p50), fmt(sql.p90), fmt(sql.p99), fmt(sql.max), String(sql.n), "", verdict(sql)],
        ];
      }),
    ),
  );
  console.log("\nBy person (GraphQL p50 / p99 ms; SQL alone p50 / p99 ms; median results on the page):\n");
  console.log(
    table(
      ["person", ...kinds],
      people.map((person) => [
        person.label,
        ...kinds.map((kind) => {
          const of = samples.filter((sample) => sample.kind === kind && sample.person === person.label);
          const graphql = summary(of.map((sample) => sample.graphql));
          const sql = summary(of.map((sample) => sample.sql));
          const results = summary(of.map((sample) => sample.results));
          return `${fmt(graphql.p50)} / ${fmt(graphql.p99)}; ${fmt(sql.p50)} / ${fmt(sql.p99)}; ${fmt(results.p50, 0)}`;
        }),
      ]),
    ),
  );
  for (const kind of kinds) {
    const hits = summary(queries.filter((query) => query.kind === kind).map((query) => query.hits ?? 0));
    const examples = queries
      .filter((query) => query.kind === kind)
      .slice(0, 4)
      .map((query) => `${query.text} (${query.hits})`)
      .join(", ");
    console.log(`${kind}: documents matching in full text (whole organisation): median ${fmt(hits.p50, 0)}, max ${fmt(hits.max, 0)}; e.g. ${examples}`);
  }
  console.log(
    `access: ${leaks} results outside what their caller may read; "${FOREIGN_MARKER}" (the other organisation's word) found ${foreignFound.length === 0 ? "nothing" : foreignFound.join(", ")} for ours, ${theirCount} for theirs`,
  );
  for (const failure of failures.slice(0, 5)) console.log(`refused: ${failure}`);
  if (failures.length > 5) console.log(`refused: ${failures.length - 5} more`);
  if (leaks > 0 || foreignFound.length > 0) process.exitCode = 1;
}

// ───────────────────────────── (c) lag ─────────────────────────────

const RENAME = `mutation BenchRename($input: UpdateItemInput!) { updateItem(input: $input) { id version } }`;
const COMMENT = `mutation BenchComment($input: AddCommentInput!) { addComment(input: $input) { id } }`;
// Quoted: a query with an operator is answered by full text alone. Unquoted, a word found fewer
// than 5 times also runs the typo comparison of every title, whose cost is measured in (b).
const FIND = `query BenchFind($q: String!) { search(query: $q, first: 5) { nodes { id } } }`;

interface Change {
  readonly word: string;
  readonly kind: "rename" | "comment";
  /** Looked for with `search` once applied (every --find-every'th change). */
  readonly sampled: boolean;
  sentAt: number;
  answeredAt?: number;
  /** The changed aggregate (item or new comment) and its version, from the answer. */
  aggregateId?: string;
  version?: number;
  position?: { transactionId: bigint; sequence: bigint; occurredAt: number };
  appliedAt?: number;
  foundAt?: number;
  error?: string;
}

/** Five letters for n: no word is a prefix of another (the last word of a query also matches as a prefix). */
function letters(n: number): string {
  let out = "";
  for (let i = 0; i < 5; i++) {
    out = String.fromCharCode(97 + (n % 26)) + out;
    n = Math.floor(n / 26);
  }
  return out;
}

async function lag(bench: BenchStack, client: pg.Client, databaseUrl: string, people: Person[], items: number, rate: number): Promise<void> {
  // Admins may change any board's items (a member not where shared as VIEWER): the changes never fail on access.
  const writers = people.filter((person) => ["OWNER", "ADMIN"].includes(person.identity.role));
  const tokens = await Promise.all(writers.map((person) => bench.token(person.identity)));
  const total = Math.round(rate * LAG_SECONDS);
  // Items on PUBLIC boards of the measured organisation, each changed once per run, at their current version.
  const random = mulberry32(2323 + rate);
  const keys = Array.from({ length: total * 3 }, () => `item:${1 + Math.floor(random() * items)}`);
  const { rows: pool } = await client.query<{ id: string; version: number }>(
    `SELECT i.id::text, i.version FROM items."Item" i JOIN projects."Board" b ON b.id = i."boardId" JOIN bench.org o ON o.id = i."organizationId"
      WHERE i.id = ANY(ARRAY(SELECT bench.uuid(k) FROM unnest($1::text[]) k)) AND b.kind = 'PUBLIC' AND o.org = 1 AND i."deletedAt" IS NULL`,
    [keys],
  );
  if (pool.length < total) throw new Error(`only ${pool.length} items for ${total} changes`);
  const run = randomBytes(2).readUInt16BE(0);
  const changes: Change[] = [];
  const owner = await bench.token(people[0]!.identity);

  // Connections of their own: the poller's every 5 ms must not queue behind the lookups.
  const lookups = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  const checkpoints = new pg.Client({ connectionString: databaseUrl });
  await checkpoints.connect();
  // The live checkpoint, polled: when it passes a change's event, the projection has applied it.
  let polling = true;
  const pending = new Set<Change>();
  const poller = (async () => {
    while (polling) {
      const { rows } = await checkpoints.query<{ transactionId: string; sequence: string }>(
        `SELECT "transactionId"::text AS "transactionId", "sequence" FROM eventstore."Projection" WHERE "name" = 'search' AND "status" = 'live'`,
      );
      const at = now();
      const checkpoint = rows[0] ? { transactionId: BigInt(rows[0].transactionId), sequence: BigInt(rows[0].sequence) } : null;
      if (checkpoint) {
        for (const change of pending) {
          const position = change.position;
          if (!position) continue;
          if (checkpoint.transactionId > position.transactionId || (checkpoint.transactionId === position.transactionId && checkpoint.sequence >= position.sequence)) {
            change.appliedAt = at;
            pending.delete(change);
            if (change.sampled) void find(change);
          }
        }
      }
      await sleep(5);
    }
  })();

  /** Searches for the change's word until its item or comment is among the results. */
  async function find(change: Change): Promise<void> {
    const deadline = now() + 15_000;
    while (now() < deadline) {
      const answer = await bench.query<{ search: { nodes: { id: string }[] } }>(owner, FIND, { q: `"${change.word}"` });
      if (answer.data?.search.nodes.some((node) => node.id === change.aggregateId)) {
        change.foundAt = now();
        return;
      }
      await sleep(20);
    }
    change.error = "not found by search within 15 s";
  }

  async function send(index: number): Promise<void> {
    const word = `lag${letters(run * 7919 + index)}`;
    const kind = index % 2 === 0 ? "rename" : "comment";
    const change: Change = { word, kind, sampled: index % FIND_EVERY === 0, sentAt: now() };
    changes.push(change);
    const token = tokens[index % tokens.length] ?? owner;
    const item = pool[index]!;
    try {
      type Changed = { id: string; version: number };
      const result =
        kind === "rename"
          ? dataOf(await bench.query<{ updateItem: Changed }>(token, RENAME, { input: { id: item.id, expectedVersion: item.version, name: `Renamed ${word}` } }), kind).updateItem
          : // A new comment is at version 1.
            { ...dataOf(await bench.query<{ addComment: { id: string } }>(token, COMMENT, { input: { itemId: item.id, body: `A note on ${word}.` } }), kind).addComment, version: 1 };
      change.answeredAt = now();
      change.aggregateId = result.id;
      change.version = result.version;
      const { rows } = await lookups.query<{ transactionId: string; sequence: string; occurredAt: Date }>(
        `SELECT "transactionId"::text AS "transactionId", "sequence", "occurredAt" FROM eventstore."Event" WHERE "aggregateId" = $1 AND "version" = $2`,
        [result.id, result.version],
      );
      const row = rows[0];
      if (!row) throw new Error(`no event of ${result.id} v${result.version} in the log`);
      change.position = { transactionId: BigInt(row.transactionId), sequence: BigInt(row.sequence), occurredAt: new Date(row.occurredAt).getTime() };
      pending.add(change);
    } catch (error) {
      change.error = error instanceof Error ? error.message : String(error);
    }
  }

  console.log(
    `\n(c) ${total} changes at ${rate}/s (open loop: sent on schedule whatever is in flight), half renames, half comments, by OWNER and ADMIN; every ${FIND_EVERY}th looked for with search (load average ${loadAverage()})`,
  );
  const started = now();
  const inFlight: Promise<void>[] = [];
  let late = 0;
  for (let index = 0; index < total; index++) {
    const due = started + (index * 1000) / rate;
    const wait = due - now();
    if (wait > 0) await sleep(wait);
    else if (wait < -10) late += 1;
    inFlight.push(send(index));
  }
  await Promise.all(inFlight);
  const sentSeconds = (now() - started) / 1000;
  const deadline = now() + 20_000;
  while (changes.some((change) => change.sampled && !change.error && change.foundAt === undefined) && now() < deadline) await sleep(50);
  polling = false;
  await poller;
  await checkpoints.end();
  await lookups.end();

  const done = changes.filter((change) => change.answeredAt !== undefined && change.position);
  const found = done.filter((change) => change.foundAt !== undefined);
  const errors = changes.filter((change) => change.error);
  const row = (name: string, values: number[], target = "") => {
    const s = summary(values);
    return [name, fmt(s.p50), fmt(s.p90), fmt(s.p99), fmt(s.max), String(s.n), target];
  };
  const searchable = found.map((change) => (change.foundAt ?? 0) - (change.answeredAt ?? 0));
  const searchableSummary = summary(searchable);
  console.log(
    `\n## (c) Projection lag at ${rate} changes/s offered: ${total} changes sent in ${fmt(sentSeconds, 1)} s (${fmt(total / sentSeconds, 0)}/s; ${late} sent > 10 ms late), ${found.length}/${changes.filter((change) => change.sampled).length} looked for found by search, ${errors.length} errors (load average ${loadAverage()})\n`,
  );
  console.log(
    table(
      ["measure", "p50 ms", "p90 ms", "p99 ms", "max ms", "n", "target"],
      [
        row(
          "mutation round trip",
          done.map((change) => (change.answeredAt ?? 0) - change.sentAt),
        ),
        row(
          "event occurredAt -> applied (live checkpoint past it)",
          done.filter((change) => change.appliedAt).map((change) => (change.appliedAt ?? 0) - (change.position?.occurredAt ?? 0)),
        ),
        row(
          "mutation answer -> applied",
          done.filter((change) => change.appliedAt).map((change) => (change.appliedAt ?? 0) - (change.answeredAt ?? 0)),
        ),
        row("mutation answer -> found by search (GraphQL)", searchable, `p99 <= ${TARGET.lagP99}: ${searchableSummary.p99 <= TARGET.lagP99 ? "met" : "not met"}`),
      ],
    ),
  );
  for (const change of errors.slice(0, 3)) console.error(`change ${change.word}: ${change.error}`);
  if (errors.length > 0) process.exitCode = 1;
}

// ───────────────────────────── main ─────────────────────────────

/**
 * Statistics for the live generation's tables when they have none yet. A rebuild swaps in tables
 * nobody has analysed, and autovacuum may take minutes to come (longer while it vacuums the seed):
 * planned with no statistics, a one-word query as OWNER ran the GIN scan once per board (185 s
 * for "review" on 1,000,000 items, 1.6 s once analysed).
 */
async function analyzeSearch(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ generation: number }>(`SELECT "generation" FROM eventstore."Projection" WHERE "name" = 'search' AND "status" = 'live'`);
  const generation = rows[0]?.generation;
  if (generation === undefined) return;
  const names = SEARCH_TABLES;
  const { rows: never } = await client.query<{ relname: string }>(
    `SELECT relname FROM pg_stat_user_tables WHERE schemaname = 'search' AND relname = ANY($1) AND last_analyze IS NULL AND last_autoanalyze IS NULL`,
    [names.map((name) => `${name}_g${generation}`)],
  );
  const tables = names.filter((name) => never.some((row) => row.relname === `${name}_g${generation}`)).map((name) => generationTable(name, generation));
  if (never.length === 0) return;
  const started = now();
  await client.query(`ANALYZE ${tables.join(", ")}`);
  console.log(`search generation ${generation}: no statistics yet (${never.map((row) => row.relname).join(", ")}); ANALYZE took ${fmt((now() - started) / 1000)} s`);
}

/** Waits (up to --quiet-seconds) until other processes use less than half a core, and says what it saw. */
async function quiet(database: string): Promise<void> {
  const { waited, foreign } = await waitForQuiet([], database, QUIET_SECONDS, 0.5);
  console.log(`other processes: ${fmt(foreign, 2)} cores after waiting ${fmt(waited, 0)} s for < 0.5 (load average ${loadAverage()})`);
}

async function main(): Promise<void> {
  console.log(`search benchmark; Node ${process.version}; load average ${loadAverage()}`);
  const seeded = await seedSearch(seedOptions, log);
  if (!seeded.skipped) console.log(`seed: ${fmt(seeded.seconds)} s`);
  console.log(`data: ${describeCounts(seeded.counts)}`);
  const client = new pg.Client({ connectionString: seeded.url });
  await client.connect();
  let bench: BenchStack | undefined;
  let prisma: PrismaClient | undefined;
  try {
    const live = await liveProjections(seeded.url);
    if (ONLY.has("a") && !(values["skip-rebuild"] === true && live.has("search"))) {
      console.log(`\n(a) rebuilding "search" from the log (${live.has("search") ? "beside the live generation" : "no live generation yet"}; load average ${loadAverage()})`);
      const result = await rebuild(seeded.url, searchProjection, log);
      // A rebuild reads below the oldest running transaction: what it could not read yet, followed now.
      const followed = await followUntilCaughtUp(seeded.url);
      const { rows } = await client.query<{ documents: string; size: string }>(
        `SELECT (SELECT count(*) FROM search."Document") AS documents, pg_size_pretty(sum(pg_total_relation_size(c.oid))) AS size
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'search' AND c.relkind = 'r'`,
      );
      console.log(`\n## (a) Full rebuild of "search" (load average ${loadAverage()})\n`);
      console.log(
        table(
          ["events", "time s", "events/s", "documents", "tables + indexes"],
          [[result.events.toLocaleString("en"), fmt(result.seconds), fmt(result.events / result.seconds, 0), Number(rows[0]?.documents).toLocaleString("en"), rows[0]?.size ?? "?"]],
        ),
      );
      if (followed.heldBack.length > 0) console.log(`(then ${fmt(followed.seconds)} s following what a running transaction held back)`);
    }
    await catchUpProjections(seeded.url, log);
    await analyzeSearch(client);
    const { measured, foreign } = await peopleOf(client);
    const items = seedOptions.items + Math.max(1_000, Math.round(seedOptions.items / 100));
    bench = await startBenchStack(seeded.url);
    prisma = createPrisma({ url: seeded.url, poolMax: 2 });
    console.log(`stack up at ${bench.url}; people: ${measured.map((person) => person.label).join(", ")}`);
    if (ONLY.has("b")) {
      await quiet(seedOptions.database);
      const queries = await querySet(client, items);
      await countHits(client, measured[0]!.identity.organizationId, queries);
      await latency(bench, prisma, measured, foreign, queries);
    }
    for (const rate of ONLY.has("c") ? RATES : []) {
      await quiet(seedOptions.database);
      await lag(bench, client, seeded.url, measured, items, rate);
    }
  } finally {
    await bench?.dispose();
    await prisma?.$disconnect();
    await client.end();
  }
}

await main();
