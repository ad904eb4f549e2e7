// The search projection's tables, one set per generation (events/store/projection.ts), and the
// views readers use. Text search configuration: titles are indexed stemmed ('english') and as typed
// ('simple'), so a prefix of a word as typed matches ("plann" finds "planning", whose English stem
// is "plan"); bodies stemmed only (comments are long, and the doubled vector would cost their size).
// Typos are looked up in the titles' vocabulary ("Word_g<N>", one row per distinct word), a few
// thousand rows where a trigram search is cheap, rather than in millions of titles.

/** search."<table>_g<N>" for a generation (a positive integer: it becomes part of an identifier). */
export function generationTable(table: "Document" | "Board" | "Deleted" | "Word", generation: number): string {
  if (!Number.isSafeInteger(generation) || generation < 1) throw new Error(`invalid generation ${generation}`);
  return `search."${table}_g${generation}"`;
}

/** The views readers query, on the live generation. */
export const DOCUMENT_VIEW = `search."Document"`;
export const BOARD_VIEW = `search."Board"`;
export const WORD_VIEW = `search."Word"`;

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
    // Typos: the words most similar to a typed one (pg_trgm `%` and similarity), from this index.
    `CREATE INDEX ${index("Word_trgm")} ON ${words} USING gin ("word" gin_trgm_ops)`,
  ];
}

/** Re-pointed by dropping and creating (not CREATE OR REPLACE), so a generation may change columns. */
export function activateStatements(generation: number): string[] {
  return [
    `DROP VIEW IF EXISTS ${DOCUMENT_VIEW}`,
    `DROP VIEW IF EXISTS ${BOARD_VIEW}`,
    `DROP VIEW IF EXISTS ${WORD_VIEW}`,
    `CREATE VIEW ${DOCUMENT_VIEW} AS SELECT * FROM ${generationTable("Document", generation)}`,
    `CREATE VIEW ${BOARD_VIEW} AS SELECT * FROM ${generationTable("Board", generation)}`,
    `CREATE VIEW ${WORD_VIEW} AS SELECT * FROM ${generationTable("Word", generation)}`,
  ];
}

export function dropStatements(generation: number): string[] {
  return (["Document", "Board", "Deleted", "Word"] as const).map((table) => `DROP TABLE IF EXISTS ${generationTable(table, generation)}`);
}
