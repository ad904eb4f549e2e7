// The search statements over the live generation's views (search."Document", search."Board").
//
// Ranking: full-text hits score 1 + ts_rank_cd (cover density on the weighted vector: title A,
// body B; divided by 1 + log(length) so a long comment does not win by size; scaled to [0, 1)),
// so they always come before typo matches, which score the same rank / 2 (< 1) on the query with
// its words corrected. Both are deterministic functions of the document and the query (and of the
// vocabulary, for corrections), so keyset pages on (score, id) neither repeat nor skip a document
// that did not change in between.
import { Prisma } from "../../../../generated/prisma/client.ts";
import { queryRaw, type PrismaClient } from "../../../../platform/db.ts";
import type { Identity } from "../../../../platform/identity.ts";
import { isAdmin } from "../../../shared/authorization.ts";
import type { Cursor } from "../../../shared/pagination.ts";
import type { DocumentType } from "./fold.ts";
import type { SearchFilterInput, SearchRequest, SearchText } from "./input.ts";

/** Fewer full-text hits than this (over everything the caller may read) and titles are compared for typos. */
export const FUZZY_BELOW = 5;
/** Corrections looked at per typed word: the most similar words of the titles' vocabulary. */
const CORRECTIONS = 3;
/** How much less similar than the best a correction may be and still be used. */
const CLOSE_TO_BEST = 0.05;
/** Typed words shorter than this are not corrected (too few trigrams to tell them from others). */
const MIN_CORRECTED = 4;
const WORD = /^[\p{L}\p{N}]+$/u;

export interface Hit {
  readonly id: string;
  readonly type: DocumentType;
  readonly boardId: string;
  readonly itemId: string | null;
  readonly title: string;
  readonly updatedAt: Date;
  readonly score: number;
}

/**
 * The tsquery of the text: websearch_to_tsquery, or'ed with the last word as a prefix when it may
 * be unfinished. Searching uses the stemmed ('english') configuration; the as-typed ('simple') one
 * is for headlines, to mark words matched as typed that the stemmed parse does not recognise.
 */
function tsquery(text: SearchText, config: "english" | "simple" = "english"): Prisma.Sql {
  const words = (value: string) => Prisma.sql`websearch_to_tsquery(${config}::regconfig, ${value})`;
  const full = words(text.text);
  if (!text.prefix) return full;
  // The word is letters and digits only (input.ts), so it cannot carry tsquery operators.
  const prefix = Prisma.sql`to_tsquery('simple'::regconfig, ${`${text.prefix.word}:*`})`;
  return text.prefix.head === "" ? Prisma.sql`(${full} || ${prefix})` : Prisma.sql`(${full} || (${words(text.prefix.head)} && ${prefix}))`;
}

/**
 * The boards the caller may read now, by the rules of subgraphs/shared/board-rules.ts `canReadBoard`
 * (on the projection's facts, which may lag: the resolver checks each page's boards again), minus
 * archived ones.
 */
function readableBoards(identity: Identity, boards: readonly string[] | null): Prisma.Sql {
  const user = Prisma.sql`CAST(${identity.userId} AS uuid)`;
  const rule = isAdmin(identity)
    ? Prisma.sql`true`
    : identity.role === "GUEST"
      ? Prisma.sql`${user} = ANY(b."sharedWith")`
      : Prisma.sql`(b."kind" <> 'PRIVATE' OR b."ownerId" = ${user} OR ${user} = ANY(b."sharedWith"))`;
  const only = boards ? Prisma.sql`AND b."id" = ANY(CAST(${boards} AS uuid[]))` : Prisma.empty;
  return Prisma.sql`SELECT b."id" FROM search."Board" b WHERE b."organizationId" = CAST(${identity.organizationId} AS uuid) AND NOT b."archived" AND ${rule} ${only}`;
}

function filterSql(filter: SearchFilterInput): Prisma.Sql {
  const parts: Prisma.Sql[] = [];
  if (filter.types) parts.push(Prisma.sql`d."type" = ANY(CAST(${filter.types} AS text[]))`);
  if (filter.assignees) parts.push(Prisma.sql`d."assigneeIds" && CAST(${filter.assignees} AS uuid[])`);
  if (filter.status) parts.push(Prisma.sql`d."status" && CAST(${filter.status} AS text[])`);
  if (filter.updatedAfter) parts.push(Prisma.sql`d."updatedAt" > ${filter.updatedAfter}`);
  return parts.length === 0 ? Prisma.empty : Prisma.sql`AND ${Prisma.join(parts, " AND ")}`;
}

/**
 * Documents the caller may read that match the filter (`d` the document). A GUEST reads only the
 * boards shared with them, a handful: as an array, one bitmap of their documents is ANDed with the
 * full-text one, where a join looped over the boards and scanned the full-text index once per board
 * (bench/search, a GUEST's phrase: 261 -> 23 ms). Everyone else reads most boards, for which the
 * hash join is the plan (as an array, an OWNER's same phrase went from 33 to 754 ms).
 */
function scope(identity: Identity, filter: SearchFilterInput): Prisma.Sql {
  const readable = readableBoards(identity, filter.boards);
  const boards = identity.role === "GUEST" ? Prisma.sql`= ANY(ARRAY(${readable}))` : Prisma.sql`IN (${readable})`;
  return Prisma.sql`d."organizationId" = CAST(${identity.organizationId} AS uuid) AND d."boardId" ${boards} ${filterSql(filter)}`;
}

function page(scored: Prisma.Sql, after: Cursor | null, limit: number): Prisma.Sql {
  const keyset = after
    ? Prisma.sql`WHERE h."score" < CAST(${after.key} AS float8) OR (h."score" = CAST(${after.key} AS float8) AND h."id" > CAST(${after.id} AS uuid))`
    : Prisma.empty;
  return Prisma.sql`SELECT h."id"::text AS "id", h."type", h."boardId"::text AS "boardId", h."itemId"::text AS "itemId", h."title", h."updatedAt", h."score"
    FROM (${scored}) h ${keyset} ORDER BY h."score" DESC, h."id" LIMIT ${limit}`;
}

/**
 * Full-text hits after `after`. A query without anything an index can look up (only negated words)
 * finds nothing rather than scanning every document (`querytree` is 'T' for it).
 */
export function fullTextHits(prisma: PrismaClient, identity: Identity, request: SearchRequest, after: Cursor | null, limit: number): Promise<Hit[]> {
  const query = tsquery(request.text);
  return queryRaw<Hit>(
    prisma,
    page(
      Prisma.sql`SELECT d."id", d."type", d."boardId", d."itemId", d."title", d."updatedAt", (1 + ts_rank_cd(d."vector", ${query}, 1 | 32))::float8 AS "score"
        FROM search."Document" d
        WHERE d."vector" @@ ${query} AND querytree(${query}) <> 'T' AND ${scope(identity, request.filter)}`,
      after,
      limit,
    ),
  );
}

/** More words than this that the typed one is a prefix of, and the GIN index answers (termHits). */
const MAX_EXPANSIONS = 8;

/** Whether the request is one plain word and a filter of boards at most: what termHits answers. */
function oneTerm(request: SearchRequest): string | null {
  const { filter, text } = request;
  if (filter.types || filter.assignees || filter.status || filter.updatedAfter) return null;
  return WORD.test(text.text) ? text.text : null;
}

/**
 * The lexemes a one-word query matches, as its tsquery does: the word's English stem, and when
 * the word is matched as a prefix, the indexed words it begins (a skip scan of the posting index:
 * one probe per distinct word), those the index lists. Null when there are more than
 * MAX_EXPANSIONS of those, or the word does not parse to one lexeme.
 */
async function termLexemes(prisma: PrismaClient, word: string, prefix: string | null): Promise<string[] | null> {
  const rows = await queryRaw<{ lexeme: string; stem: boolean; listed: boolean }>(
    prisma,
    Prisma.sql`WITH RECURSIVE e("lexeme", "n") AS (
        (SELECT p."lexeme", 1 FROM search."Posting" p WHERE ${prefix !== null} AND p."lexeme" >= (${prefix ?? ""} COLLATE "C") ORDER BY p."lexeme" LIMIT 1)
        UNION ALL
        SELECT (SELECT p."lexeme" FROM search."Posting" p WHERE p."lexeme" > e."lexeme" ORDER BY p."lexeme" LIMIT 1), e."n" + 1
          FROM e WHERE starts_with(e."lexeme", ${prefix ?? ""}) AND e."n" <= ${MAX_EXPANSIONS}
      )
      SELECT s."lexeme", true AS "stem", EXISTS (SELECT 1 FROM search."Posting" p WHERE p."lexeme" = (s."lexeme" COLLATE "C")) AS "listed"
        FROM unnest(tsvector_to_array(to_tsvector('english'::regconfig, ${word}))) AS s("lexeme")
      UNION ALL
      SELECT e."lexeme", false, true FROM e WHERE starts_with(e."lexeme", ${prefix ?? ""})`,
  );
  const stems = rows.filter((row) => row.stem);
  const prefixed = rows.filter((row) => !row.stem);
  if (stems.length > 1 || prefixed.length > MAX_EXPANSIONS) return null;
  // A lexeme no document has has an empty list: none left means full text finds nothing (a typo).
  return [...new Set(rows.filter((row) => row.listed).map((row) => row.lexeme))];
}

/** Where a lexeme's posting list has been read to (rank descending, document ascending). */
interface Frontier {
  readonly lexeme: string;
  rank: number;
  documentId: string;
  exhausted: boolean;
}

/** Rounds of the threshold algorithm before the GIN index is asked instead (postings read grow 2× a round). */
const MAX_ROUNDS = 8;
/** Float4 ranks come back as float8 sums: the bound is raised by this much so rounding never lowers it. */
const BOUND_SLACK = 1e-5;
/** A list's top, before any rank (ranks are below 1: normalisation 32). */
const TOP = { rank: 2, documentId: "00000000-0000-0000-0000-000000000000" } as const;

/** ts_rank_cd's normalisation 32 maps a sum s of an or-query's matches to s / (s + 1): this undoes it. */
const unnormalised = (rank: number) => rank / (1 - rank);

const isAfter = (hit: Hit, cursor: Cursor | null) =>
  cursor === null || hit.score < Number(cursor.key) || (hit.score === Number(cursor.key) && hit.id > cursor.id);
const byScore = (a: Hit, b: Hit) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** A query over lexemes' posting lists: how a document read from them is scored, and which count. */
interface Merge {
  readonly lexemes: readonly string[];
  /** The document's score for the whole query, and whether it matches (`d` the document). */
  readonly score: Prisma.Sql;
  readonly matches: Prisma.Sql;
  /** The rank, of ts_rank_cd on the whole query, that a score stands for. */
  readonly rankOf: (score: number) => number;
  /**
   * Whether a document scores its lexeme's rank when it has one of them (full text), so that a
   * cursor's rank is where every list resumes; otherwise (typos: title matches only) at most that.
   */
  readonly rankedAsListed: boolean;
}

/**
 * Whether a document not read yet could come before `last` in the page's order. With one list left
 * to read, such a document has no other of the lexemes (it would have been read from that list):
 * it ranks no higher than in that list, where it comes after the frontier. With several, it can
 * rank up to the sum of their frontiers' ranks.
 */
function couldComeBefore(merge: Merge, unread: readonly Frontier[], last: Hit): boolean {
  const rank = merge.rankOf(last.score);
  const [only] = unread;
  if (unread.length === 1 && only) {
    // The frontier's rank came back as float4's shortest decimal: fround gives the float4 itself.
    const frontier = Math.fround(only.rank);
    return !(rank > frontier || (rank === frontier && last.id <= only.documentId));
  }
  const bound = unread.reduce((sum, frontier) => sum + unnormalised(frontier.rank), 0) * (1 + BOUND_SLACK);
  return rank <= bound / (bound + 1);
}

/**
 * A page of hits from the posting lists of `merge.lexemes`, the readable documents only, in the
 * order the GIN index's statement gives them. A document's rank on an or-query is that of the sum of
 * its lexemes' matches (ts_rank_cd, before normalisation 32), never more than the sum of its ranks
 * in the lists, so the lists are merged by the threshold algorithm (Fagin, Lotem and Naor): read
 * each a block further, score what was read on the whole query, and stop once nothing unread can
 * come before the page's last. Null when the lists would have to be read too deep.
 */
async function mergePostings(
  prisma: PrismaClient,
  identity: Identity,
  request: SearchRequest,
  merge: Merge,
  cursor: Cursor | null,
  limit: number,
): Promise<Hit[] | null> {
  if (!(await hasPostings(prisma))) return null;
  if (merge.lexemes.length === 0) return [];
  // A cursor's score is 1 + a float4 rank, so its rank is exactly score - 1.
  const start = cursor && merge.rankedAsListed ? { rank: merge.rankOf(Number(cursor.key)), documentId: cursor.id } : TOP;
  const frontiers: Frontier[] = merge.lexemes.map((lexeme) => ({ lexeme, ...start, exhausted: false }));
  const readable = readableBoards(identity, request.filter.boards);
  /** Every document read, with its hit (null when it does not match). */
  const scored = new Map<string, Hit | null>();
  let block = limit;
  for (let round = 0; round < MAX_ROUNDS; round += 1) {
    // Never empty: a round that leaves every list read returns.
    const open = frontiers.filter((frontier) => !frontier.exhausted);
    // One statement a round: the lists read a block further, and the documents first seen in them
    // scored on the whole query (the rows with a lexeme are postings, the others hits). Postings
    // come ordered by uuid, as the next round reads on from each list's last (documentId >).
    const rows = await queryRaw<{ lexeme: string | null; rank: number | null; documentId: string } & Partial<Omit<Hit, "id">>>(
      prisma,
      Prisma.sql`WITH r AS MATERIALIZED (
          SELECT l."lexeme", c."rank", c."documentId"
            FROM unnest(CAST(${open.map((f) => f.lexeme)} AS text[]), CAST(${open.map((f) => f.rank)} AS real[]), CAST(${open.map((f) => f.documentId)} AS uuid[])) AS l("lexeme", "rank", "documentId")
            CROSS JOIN LATERAL (SELECT p."rank", p."documentId" FROM search."Posting" p
                                WHERE p."lexeme" = (l."lexeme" COLLATE "C") AND p."rank" <= l."rank" AND (p."rank" < l."rank" OR p."documentId" > l."documentId")
                                  AND p."boardId" = ANY(ARRAY(${readable}))
                                ORDER BY p."rank" DESC, p."documentId" LIMIT ${block}) c)
        SELECT r."lexeme", r."rank", r."documentId", NULL::text AS "type", NULL::text AS "boardId", NULL::text AS "itemId",
               NULL::text AS "title", NULL::timestamptz AS "updatedAt", NULL::float8 AS "score"
          FROM r
        UNION ALL
        SELECT NULL, NULL, d."id", d."type"::text, d."boardId"::text, d."itemId"::text, d."title", d."updatedAt", ${merge.score}
          FROM search."Document" d
         WHERE d."id" IN (SELECT r."documentId" FROM r) AND NOT (d."id" = ANY(CAST(${[...scored.keys()]} AS uuid[]))) AND ${merge.matches}
        ORDER BY 1, 2 DESC, 3`,
    );
    const read = rows.filter((row) => row.lexeme !== null);
    for (const frontier of open) {
      const listed = read.filter((row) => row.lexeme === frontier.lexeme);
      const last = listed.at(-1);
      if (last) Object.assign(frontier, { rank: last.rank, documentId: last.documentId });
      frontier.exhausted = listed.length < block;
    }
    for (const { documentId } of read) if (!scored.has(documentId)) scored.set(documentId, null);
    for (const row of rows) {
      if (row.lexeme !== null) continue;
      const { documentId: id, type, boardId, itemId, title, updatedAt, score } = row;
      scored.set(id, { id, type, boardId, itemId, title, updatedAt, score } as Hit);
    }
    const page = [...scored.values()].filter((hit): hit is Hit => hit !== null && isAfter(hit, cursor)).sort(byScore);
    const last = page[limit - 1];
    const unread = frontiers.filter((frontier) => !frontier.exhausted);
    if (unread.length === 0 || (last && !couldComeBefore(merge, unread, last))) return page.slice(0, limit);
    block *= 2;
  }
  return null;
}

/**
 * fullTextHits for a one-word query, from the posting index: the same hits in the same order (the
 * lexemes are the word's stem and, as a prefix, the words it begins). Null when the request is not
 * one this index answers, or the answer is too deep in the lists.
 */
export async function termHits(prisma: PrismaClient, identity: Identity, request: SearchRequest, cursor: Cursor | null, limit: number): Promise<Hit[] | null> {
  const word = oneTerm(request);
  if (word === null || !(await hasPostings(prisma))) return null;
  const lexemes = await termLexemes(prisma, word, request.text.prefix?.word ?? null);
  if (lexemes === null) return null;
  const query = tsquery(request.text);
  return mergePostings(
    prisma,
    identity,
    request,
    {
      lexemes,
      score: Prisma.sql`(1 + ts_rank_cd(d."vector", ${query}, 1 | 32))::float8`,
      matches: Prisma.sql`true`,
      rankOf: (score) => score - 1,
      rankedAsListed: true,
    },
    cursor,
    limit,
  );
}

/**
 * How many full-text hits there are. Asked only on the last page of full-text hits after the
 * first, so it counts what the caller has paged through already. No LIMIT: with one, the planner
 * takes a sequential scan hoping to find a few rows early, which for a rare word reads every row.
 */
export async function fullTextCount(prisma: PrismaClient, identity: Identity, request: SearchRequest): Promise<number> {
  const query = tsquery(request.text);
  const rows = await queryRaw<{ count: number }>(
    prisma,
    Prisma.sql`SELECT count(*)::int AS "count" FROM search."Document" d WHERE d."vector" @@ ${query} AND querytree(${query}) <> 'T' AND ${scope(identity, request.filter)}`,
  );
  return rows[0]?.count ?? 0;
}

/**
 * For each typed word (of 4 characters or more), the titles' words most similar to it: pg_trgm
 * similarity at least 0.3 (`%`, its default threshold), through the vocabulary's trigram index;
 * the best, and up to two more as close as it (within CLOSE_TO_BEST), since each adds documents
 * to rank.
 */
async function corrections(prisma: PrismaClient, words: readonly string[]): Promise<Map<string, string[]>> {
  const typed = words.filter((word) => word.length >= MIN_CORRECTED);
  const found = new Map<string, string[]>();
  if (typed.length === 0) return found;
  const rows = await queryRaw<{ typed: string; word: string; similarity: number }>(
    prisma,
    Prisma.sql`SELECT t."typed", c."word", c."similarity" FROM unnest(CAST(${typed} AS text[])) AS t("typed")
      CROSS JOIN LATERAL (SELECT w."word", similarity(w."word", t."typed")::float8 AS "similarity" FROM search."Word" w
                          WHERE w."word" % t."typed" AND w."word" <> t."typed" ORDER BY 2 DESC, 1 LIMIT ${CORRECTIONS}) c
      -- A word some title has is spelled right.
      WHERE NOT EXISTS (SELECT 1 FROM search."Word" known WHERE known."word" = t."typed")
      ORDER BY 1, 3 DESC, 2`,
  );
  const best = new Map<string, number>();
  for (const row of rows) {
    const top = best.get(row.typed) ?? row.similarity;
    best.set(row.typed, top);
    if (WORD.test(row.word) && row.similarity >= top - CLOSE_TO_BEST) found.set(row.typed, [...(found.get(row.typed) ?? []), row.word]);
  }
  return found;
}

/**
 * Documents whose titles match the query once its words are corrected (each word: itself, stemmed,
 * anywhere; or one of its corrections in a title, weight A), that full text did not find. Comments
 * have no title: typos in their text are not forgiven.
 */
export async function fuzzyHits(prisma: PrismaClient, identity: Identity, request: SearchRequest, after: Cursor | null, limit: number): Promise<Hit[]> {
  const words = request.text.fuzzy;
  const found = await corrections(prisma, words);
  if (found.size === 0) return [];
  const corrected = Prisma.join(
    words.map((typed) => {
      const itself = Prisma.sql`plainto_tsquery('english'::regconfig, ${typed})`;
      const alternatives = found.get(typed);
      // Letters and digits only (WORD), so the text carries no tsquery operators but ours.
      return alternatives ? Prisma.sql`(${itself} || to_tsquery('simple'::regconfig, ${alternatives.map((word) => `${word}:A`).join(" | ")}))` : itself;
    }),
    " && ",
  );
  const score = Prisma.sql`(ts_rank_cd(d."vector", ${corrected}, 1 | 32) / 2)::float8`;
  const matches = Prisma.sql`d."vector" @@ (${corrected}) AND NOT (d."vector" @@ ${tsquery(request.text)})`;
  // One word: its corrections' posting lists (a document matching the word itself is a full-text hit).
  const [only] = words;
  const alternatives = words.length === 1 && only !== undefined && oneTerm(request) !== null ? found.get(only) : undefined;
  if (alternatives) {
    const merge = { lexemes: alternatives, score, matches, rankOf: (value: number) => value * 2, rankedAsListed: false };
    const merged = await mergePostings(prisma, identity, request, merge, after, limit);
    if (merged) return merged;
  }
  return queryRaw<Hit>(
    prisma,
    page(
      Prisma.sql`SELECT d."id", d."type", d."boardId", d."itemId", d."title", d."updatedAt", ${score} AS "score"
        FROM search."Document" d
        WHERE ${matches} AND querytree(${corrected}) <> 'T' AND ${scope(identity, request.filter)}`,
      after,
      limit,
    ),
  );
}

/** Full-text scores are 1 + rank, fuzzy ones below 1: a cursor's score says which stage it is in. */
const inFullText = (cursor: Cursor | null) => cursor === null || Number(cursor.key) >= 1;

/**
 * Up to `size + 1` hits after the cursor: full-text hits first (a one-word query's from the posting
 * index); once they run out, when they are few over everything readable, fuzzy title matches.
 */
export async function candidates(prisma: PrismaClient, identity: Identity, request: SearchRequest): Promise<Hit[]> {
  const { after, size } = request;
  const wanted = size + 1;
  const fullText = inFullText(after)
    ? ((await termHits(prisma, identity, request, after, wanted)) ?? (await fullTextHits(prisma, identity, request, after, wanted)))
    : [];
  if (fullText.length >= wanted) return fullText;
  if (inFullText(after)) {
    // Everything full text finds is on this page or was on the ones before it.
    const found = after === null ? fullText.length : await fullTextCount(prisma, identity, request);
    if (found >= FUZZY_BELOW) return fullText;
  }
  const fuzzy = await fuzzyHits(prisma, identity, request, inFullText(after) ? null : after, wanted - fullText.length);
  return [...fullText, ...fuzzy];
}

/** Private-use characters that mark the matches in ts_headline's output until it is escaped (snippet.ts). */
export const MARK_START = "\uE000";
export const MARK_STOP = "\uE001";

export interface Headlines {
  readonly id: string;
  /** ts_headline of the HTML-escaped body and title: stemmed ('english'), and as typed ('simple': exact words and prefixes). */
  readonly body: string;
  readonly bodySimple: string;
  readonly title: string;
  readonly titleSimple: string;
}

/**
 * The text HTML-escaped before ts_headline sees it: its parser drops what looks like a tag, so
 * escaping after it would lose `<b>` from a comment instead of showing it. The markers are taken
 * out of the text too, so only ts_headline's own can be in the result.
 */
function escaped(column: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`replace(replace(replace(replace(replace(translate(${column}, ${MARK_START + MARK_STOP}, ''), '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;')`;
}

/** Headlines of the page's documents only (ts_headline re-parses the text: it is the costly part). */
export function headlines(prisma: PrismaClient, ids: readonly string[], text: SearchText): Promise<Headlines[]> {
  if (ids.length === 0) return Promise.resolve([]);
  const query = tsquery(text);
  const typed = tsquery(text, "simple");
  const options = `StartSel=${MARK_START}, StopSel=${MARK_STOP}, MaxWords=35, MinWords=15, ShortWord=2`;
  const body = escaped(Prisma.sql`d."body"`);
  const title = escaped(Prisma.sql`d."title"`);
  return queryRaw<Headlines>(
    prisma,
    Prisma.sql`SELECT d."id"::text AS "id",
        ts_headline('english'::regconfig, ${body}, ${query}, ${options}) AS "body",
        ts_headline('simple'::regconfig, ${body}, ${typed}, ${options}) AS "bodySimple",
        ts_headline('english'::regconfig, ${title}, ${query}, ${options}) AS "title",
        ts_headline('simple'::regconfig, ${title}, ${typed}, ${options}) AS "titleSimple"
      FROM search."Document" d WHERE d."id" = ANY(CAST(${ids} AS uuid[]))`,
  );
}

/** Clients that have seen the views: once made they stay (a swap re-creates them in one transaction). */
const ready = new WeakSet<PrismaClient>();
/** Clients that have seen the posting view (a generation made before it gets it with its next batch). */
const postingsReady = new WeakSet<PrismaClient>();

async function hasPostings(prisma: PrismaClient): Promise<boolean> {
  if (postingsReady.has(prisma)) return true;
  const rows = await queryRaw<{ ready: boolean }>(prisma, Prisma.sql`SELECT to_regclass('search."Posting"') IS NOT NULL AS "ready"`);
  if (rows[0]?.ready !== true) return false;
  postingsReady.add(prisma);
  return true;
}

/** Whether the projection has a live generation yet (its views exist); asked until it has. */
export async function searchReady(prisma: PrismaClient): Promise<boolean> {
  if (ready.has(prisma)) return true;
  const rows = await queryRaw<{ ready: boolean }>(prisma, Prisma.sql`SELECT to_regclass('search."Document"') IS NOT NULL AS "ready"`);
  if (rows[0]?.ready !== true) return false;
  ready.add(prisma);
  return true;
}
