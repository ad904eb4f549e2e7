// The search read model: items, boards and comments as full-text documents, plus the board facts
// the reading rules need, folded from the event log (a CDC read model owned by the items subgraph:
// no trigger reads another subgraph's tables). Runs in the items subgraph's process
// (subgraphs/items/src/projections.ts); `npm run projections:rebuild -- search` rebuilds it.
import type pg from "pg";
import type { LoggedEvent } from "../../../../events/store/log.ts";
import type { Projection } from "../../../../events/store/projection.ts";
import { inTransaction } from "../../../../events/store/transaction.ts";
import { foldSearchEvents, touchedBy, type FoldResult, type SearchBoard, type SearchDocument } from "./fold.ts";
import {
  activateStatements,
  createStatements,
  dropStatements,
  generationTable,
  lexemeRank,
  POSTING_VIEW,
  postingBuildStatements,
  SEARCH_TABLES,
  wordIndex,
  wordStatements,
} from "./tables.ts";

/** Shorter words have too few trigrams to be told apart from others: their typos are not corrected. */
const MIN_WORD = 3;

const DOCUMENT_COLUMNS = `"id", "type", "organizationId", "boardId", "itemId", "title", "body", "status", "assigneeIds", "columns", "version", "updatedAt"`;
/** The record type of `jsonb_to_recordset` for DOCUMENT_COLUMNS. */
const DOCUMENT_RECORD = `"id" uuid, "type" text, "organizationId" uuid, "boardId" uuid, "itemId" uuid, "title" text, "body" text, "status" text[],
  "assigneeIds" uuid[], "columns" jsonb, "version" integer, "updatedAt" timestamptz`;

async function run(db: pg.ClientBase, statements: readonly string[]): Promise<void> {
  for (const statement of statements) await db.query(statement);
}

/** The stored rows a batch touches. */
async function load(db: pg.ClientBase, generation: number, events: readonly LoggedEvent[]) {
  const touched = touchedBy(events);
  // One after the other: a pg client runs one query at a time anyway.
  const documents = await db.query<SearchDocument>(`SELECT ${DOCUMENT_COLUMNS} FROM ${generationTable("Document", generation)} WHERE "id" = ANY($1::uuid[])`, [
    touched.documents,
  ]);
  const boards = await db.query<SearchBoard>(
    `SELECT "id", "organizationId", "kind", "ownerId", "archived", "sharedWith", "version" FROM ${generationTable("Board", generation)} WHERE "id" = ANY($1::uuid[])`,
    [touched.boards],
  );
  const deleted = await db.query<{ id: string }>(`SELECT "id" FROM ${generationTable("Deleted", generation)} WHERE "id" = ANY($1::uuid[])`, [touched.items]);
  return {
    documents: new Map(documents.rows.map((row) => [row.id, row])),
    boards: new Map(boards.rows.map((row) => [row.id, row])),
    deletedItems: new Set(deleted.rows.map((row) => row.id)),
  };
}

/**
 * The posting rows of the documents `where` picks (`d`), each found through the index's key: the
 * lexemes and ranks come from the document's vector, as they did when the rows were written.
 */
function deletePostings(generation: number, where: string): string {
  return `DELETE FROM ${generationTable("Posting", generation)} p USING ${generationTable("Document", generation)} d CROSS JOIN LATERAL unnest(d."vector") u
    WHERE ${where} AND p."lexeme" = (u."lexeme" COLLATE "C") AND p."rank" = ${lexemeRank('d."vector"', 'u."lexeme"')} AND p."documentId" = d."id"`;
}

/**
 * Whether the generation's postings exist, to be kept with its documents. A generation being rebuilt
 * has none until it is settled (then they are built at once); any other that has none gets them
 * now, from its documents, inside this batch's transaction: one made live from the start (nothing
 * to copy yet), or one made before the posting index (about two minutes for 2,000,000 documents;
 * readers keep to the GIN index until its view is there).
 */
async function postingsKept(db: pg.ClientBase, generation: number): Promise<boolean> {
  const { rows } = await db.query<{ kept: boolean; words: boolean; status: string | null }>(
    `SELECT to_regclass($1) IS NOT NULL AS "kept", to_regclass($3) IS NOT NULL AS "words",
            (SELECT "status" FROM eventstore."Projection" WHERE "name" = 'search' AND "generation" = $2) AS "status"`,
    [generationTable("Posting", generation), generation, wordIndex(generation)],
  );
  // A generation made before the words' GIN index: it replaces the older one now (the words are few).
  if (rows[0]?.kept && !rows[0].words) await run(db, wordStatements(generation));
  if (rows[0]?.kept) return true;
  if (rows[0]?.status === "building") return false;
  await buildPostings(db, generation);
  return true;
}

async function hasPostings(db: pg.ClientBase, generation: number): Promise<boolean> {
  const { rows } = await db.query<{ kept: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS "kept"`, [generationTable("Posting", generation)]);
  return rows[0]?.kept === true;
}

/** Builds the postings (and a live generation's view), and the words' typo index an older generation lacks. */
async function buildPostings(db: pg.ClientBase, generation: number): Promise<void> {
  await run(db, [...postingBuildStatements(generation), ...wordStatements(generation)]);
  // Live: the readers' documents view shows this generation.
  const live = await db.query(`SELECT 1 FROM information_schema.view_table_usage WHERE view_schema = 'search' AND view_name = 'Document' AND table_name = $1`, [
    `Document_g${generation}`,
  ]);
  if (live.rowCount) await db.query(`CREATE OR REPLACE VIEW ${POSTING_VIEW} AS SELECT * FROM ${generationTable("Posting", generation)}`);
}

/** Writes a fold's changes: a fixed number of statements per table, however many events it folded. */
async function write(db: pg.ClientBase, generation: number, result: FoldResult, postings: boolean): Promise<void> {
  const documents = generationTable("Document", generation);
  if (result.documents.length > 0) {
    const ids = result.documents.map((document) => document.id);
    // Rewritten whether or not the version guard below lets a row change: the same rows come back.
    if (postings) await db.query(deletePostings(generation, `d."id" = ANY($1::uuid[])`), [ids]);
    // The version guard holds on the stored row too, whoever wrote it.
    await db.query(
      `INSERT INTO ${documents} AS d (${DOCUMENT_COLUMNS})
       SELECT ${DOCUMENT_COLUMNS} FROM jsonb_to_recordset($1::jsonb) AS r(${DOCUMENT_RECORD})
       ON CONFLICT ("id") DO UPDATE SET "boardId" = EXCLUDED."boardId", "title" = EXCLUDED."title", "body" = EXCLUDED."body", "status" = EXCLUDED."status",
         "assigneeIds" = EXCLUDED."assigneeIds", "columns" = EXCLUDED."columns", "version" = EXCLUDED."version", "updatedAt" = EXCLUDED."updatedAt"
       WHERE d."version" < EXCLUDED."version"`,
      [JSON.stringify(result.documents)],
    );
    if (postings)
      await db.query(
        `INSERT INTO ${generationTable("Posting", generation)} ("lexeme", "rank", "documentId", "boardId")
       SELECT u."lexeme", ${lexemeRank('d."vector"', 'u."lexeme"')}, d."id", d."boardId" FROM ${documents} d CROSS JOIN LATERAL unnest(d."vector") u
       WHERE d."id" = ANY($1::uuid[])`,
        [ids],
      );
    // The titles' words as typed, for typo lookups (kept when a title changes: a word no title has
    // any more only makes a correction that finds nothing, and a rebuild leaves it out).
    await db.query(
      `INSERT INTO ${generationTable("Word", generation)} ("word")
       SELECT DISTINCT w.word FROM unnest($1::text[]) AS t(title), unnest(tsvector_to_array(to_tsvector('simple'::regconfig, t.title))) AS w(word)
       WHERE length(w.word) >= ${MIN_WORD} ORDER BY 1
       ON CONFLICT ("word") DO NOTHING`,
      [result.documents.filter((document) => document.title !== "").map((document) => document.title)],
    );
  }
  if (result.deletedItems.length > 0) {
    const ids = result.deletedItems.map((entry) => entry.id);
    if (postings) await db.query(deletePostings(generation, `(d."id" = ANY($1::uuid[]) OR (d."type" = 'COMMENT' AND d."itemId" = ANY($1::uuid[])))`), [ids]);
    await db.query(`DELETE FROM ${documents} WHERE "id" = ANY($1::uuid[]) OR ("type" = 'COMMENT' AND "itemId" = ANY($1::uuid[]))`, [ids]);
    await db.query(
      `INSERT INTO ${generationTable("Deleted", generation)} ("id", "version") SELECT * FROM unnest($1::uuid[], $2::integer[]) ON CONFLICT ("id") DO NOTHING`,
      [ids, result.deletedItems.map((entry) => entry.version)],
    );
  }
  if (result.boards.length > 0) {
    await db.query(
      `INSERT INTO ${generationTable("Board", generation)} AS b ("id", "organizationId", "kind", "ownerId", "archived", "sharedWith", "version")
       SELECT "id", "organizationId", "kind", "ownerId", "archived", "sharedWith", "version"
         FROM jsonb_to_recordset($1::jsonb) AS r("id" uuid, "organizationId" uuid, "kind" text, "ownerId" uuid, "archived" boolean, "sharedWith" uuid[], "version" integer)
       ON CONFLICT ("id") DO UPDATE SET "kind" = EXCLUDED."kind", "ownerId" = EXCLUDED."ownerId", "archived" = EXCLUDED."archived",
         "sharedWith" = EXCLUDED."sharedWith", "version" = EXCLUDED."version"
       WHERE b."version" < EXCLUDED."version"`,
      [JSON.stringify(result.boards)],
    );
  }
}

export const searchProjection: Projection = {
  name: "search",
  create: (db, generation) => run(db, createStatements(generation)),
  async apply(db, generation, events) {
    if (events.length === 0) return;
    const postings = await postingsKept(db, generation);
    const start = await load(db, generation, events);
    await write(db, generation, foldSearchEvents(start, events), postings);
  },
  // The postings in one go (their own transaction: all or none), then statistics before readers
  // come: planned without them, a common word's search took minutes (bench/search). VACUUM sets the
  // visibility map, so the posting index is read without the table.
  async settle(db, generation) {
    if (!(await hasPostings(db, generation))) await inTransaction(db, () => buildPostings(db, generation));
    await run(db, [`VACUUM (ANALYZE) ${SEARCH_TABLES.map((name) => generationTable(name, generation)).join(", ")}`]);
  },
  activate: async (db, generation) => run(db, activateStatements(generation, await hasPostings(db, generation))),
  drop: (db, generation) => run(db, dropStatements(generation)),
};
