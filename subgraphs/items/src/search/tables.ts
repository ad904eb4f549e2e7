// The search projection's tables, one set per generation (events/store/projection.ts), and the
// views readers use. Text search configuration: titles are indexed stemmed ('english') and as typed
// ('simple'), so a prefix of a word as typed matches ("plann" finds "planning", whose English stem
// is "plan"); bodies stemmed only (comments are long, and the doubled vector would cost their size).
// Typos are looked up in the titles' vocabulary ("Word_g<N>", one row per distinct word), a few
// thousand rows where a trigram search is cheap, rather than in millions of titles.
//
// Beside the GIN index, a rank-ordered inverted index ("Posting_g<N>"): one row per (word,
// document) with the rank a query of that word alone gives the document. The GIN index finds a
// word's documents but not its best ones: a common word's search ranked every match (113,000
// documents, 1.5 s in bench/search). Walking the posting index in score order and stopping at the
// page's end reads about as many index tuples as the page holds, for a caller who reads most boards.

export const SEARCH_TABLES = ["Document", "Board", "Deleted", "Word", "Posting"] as const;
export type SearchTable = (typeof SEARCH_TABLES)[number];

/** search."<table>_g<N>" for a generation (a positive integer: it becomes part of an identifier). */
export function generationTable(table: SearchTable, generation: number): string {
  if (!Number.isSafeInteger(generation) || generation < 1) throw new Error(`invalid generation ${generation}`);
  return `search."${table}_g${generation}"`;
}

/** The views readers query, on the live generation. */
export const DOCUMENT_VIEW = `search."Document"`;
export const BOARD_VIEW = `search."Board"`;
export const WORD_VIEW = `search."Word"`;
export const POSTING_VIEW = `search."Posting"`;
const VIEWS: Partial<Record<SearchTable, string>> = { Document: DOCUMENT_VIEW, Board: BOARD_VIEW, Word: WORD_VIEW, Posting: POSTING_VIEW };

/**
 * The tsquery of one lexeme, taken as it is (no parsing into words, no normalisation): quoted, with
 * quotes and backslashes doubled as tsquery input wants them.
 */
export function lexemeQuery(lexeme: string): string {
  return `('''' || replace(replace(${lexeme}, '\\', '\\\\'), '''', '''''') || '''')::tsquery`;
}

/**
 * A document's rank for a query of this lexeme alone, as the full-text search ranks it (query.ts:
 * ts_rank_cd, normalisation 1 | 32; its score is 1 + this). For a query of several lexemes or'ed (a
 * word and the words it is a prefix of), a document ranks at least as high as for each of them.
 */
export function lexemeRank(vector: string, lexeme: string): string {
  return `ts_rank_cd(${vector}, ${lexemeQuery(lexeme)}, 1 | 32)`;
}

/** The weighted vector (title A, body B) the documents table generates; queries rank on it. */
const VECTOR = `setweight(to_tsvector('english'::regconfig, "title"), 'A') || setweight(to_tsvector('simple'::regconfig, "title"), 'A')
      || setweight(to_tsvector('english'::regconfig, "body"), 'B')`;

export function createStatements(generation: number): string[] {
  const documents = generationTable("Document", generation);
  const boards = generationTable("Board", generation);
  const deleted = generationTable("Deleted", generation);
  const words = generationTable("Word", generation);
  const index = (name: string) => `"${name}_g${generation}"`;
  return [
    `CREATE TABLE ${documents} (
      "id" uuid PRIMARY KEY,
      "type" text NOT NULL,
      "organizationId" uuid NOT NULL,
      "boardId" uuid NOT NULL,
      "itemId" uuid,
      "title" text NOT NULL,
      "body" text NOT NULL,
      "status" text[] NOT NULL,
      "assigneeIds" uuid[] NOT NULL,
      "columns" jsonb NOT NULL,
      "version" integer NOT NULL,
      "updatedAt" timestamptz(3) NOT NULL,
      "vector" tsvector GENERATED ALWAYS AS (${VECTOR}) STORED
    )`,
    `CREATE INDEX ${index("Document_vector")} ON ${documents} USING gin ("vector")`,
    `CREATE INDEX ${index("Document_board")} ON ${documents} ("boardId")`,
    // A deleted item takes its comments with it.
    `CREATE INDEX ${index("Document_item")} ON ${documents} ("itemId") WHERE "type" = 'COMMENT'`,
    `CREATE TABLE ${boards} (
      "id" uuid PRIMARY KEY,
      "organizationId" uuid NOT NULL,
      "kind" text NOT NULL,
      "ownerId" uuid NOT NULL,
      "archived" boolean NOT NULL,
      "sharedWith" uuid[] NOT NULL,
      "version" integer NOT NULL
    )`,
    `CREATE INDEX ${index("Board_organization")} ON ${boards} ("organizationId")`,
    `CREATE TABLE ${deleted} ("id" uuid PRIMARY KEY, "version" integer NOT NULL)`,
    `CREATE TABLE ${words} ("word" text PRIMARY KEY)`,
    ...wordStatements(generation),
  ];
}

/** The typo index of a generation's words (wordStatements). */
export const wordIndex = (generation: number) => `search."Word_typo_g${generation}"`;

/**
 * Typos: the words most similar to a typed one (pg_trgm `%` and similarity), from a GIN trigram
 * index kept without a pending list (fastupdate off): 0.24 ms a lookup for the 24,000 words of
 * bench/search, where a GiST one took 5.1, and a GIN one whose new words waited in its pending list
 * 4.6 (every search reads the whole list). Also drops those older indexes of a generation
 * (projection.ts).
 */
export function wordStatements(generation: number): string[] {
  return [
    `CREATE INDEX IF NOT EXISTS "Word_typo_g${generation}" ON ${generationTable("Word", generation)} USING gin ("word" gin_trgm_ops) WITH (fastupdate = off)`,
    `DROP INDEX IF EXISTS search."Word_similar_g${generation}"`,
    `DROP INDEX IF EXISTS search."Word_trgm_g${generation}"`,
  ];
}

/**
 * The posting table, filled from the generation's documents, then its index (built once over the
 * sorted rows: inserting 20 million rows into a live B-tree one batch at a time took the rebuild from
 * 12,800 to under 3,000 events/s). Not made with the other tables: projection.ts makes it when a
 * generation is settled, or at once for one that serves readers.
 */
export function postingBuildStatements(generation: number): string[] {
  const postings = generationTable("Posting", generation);
  return [
    // "C": byte order, so a prefix is a range of the index.
    `CREATE TABLE ${postings} (
      "lexeme" text COLLATE "C" NOT NULL,
      "rank" real NOT NULL,
      "documentId" uuid NOT NULL,
      "boardId" uuid NOT NULL
    )`,
    `INSERT INTO ${postings} ("lexeme", "rank", "documentId", "boardId")
     SELECT u."lexeme", ${lexemeRank('d."vector"', 'u."lexeme"')}, d."id", d."boardId" FROM ${generationTable("Document", generation)} d CROSS JOIN LATERAL unnest(d."vector") u`,
    // The key also finds one document's row (its lexeme and rank come from its vector) to delete
    // it; the board is included so the readable ones are told apart without visiting the table.
    `CREATE INDEX "Posting_order_g${generation}" ON ${postings} ("lexeme", "rank" DESC, "documentId") INCLUDE ("boardId")`,
  ];
}

/**
 * Re-pointed by dropping and creating (not CREATE OR REPLACE), so a generation may change columns.
 * The posting view only when the generation has its postings (projection.ts makes it with them).
 */
export function activateStatements(generation: number, postings: boolean): string[] {
  const views = (Object.entries(VIEWS) as [SearchTable, string][]).filter(([table]) => postings || table !== "Posting");
  return [
    ...Object.values(VIEWS).map((view) => `DROP VIEW IF EXISTS ${view}`),
    ...views.map(([table, view]) => `CREATE VIEW ${view} AS SELECT * FROM ${generationTable(table, generation)}`),
  ];
}

export function dropStatements(generation: number): string[] {
  return SEARCH_TABLES.map((table) => `DROP TABLE IF EXISTS ${generationTable(table, generation)}`);
}
