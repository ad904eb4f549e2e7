// The search projection (subgraphs/items/src/search/projection.ts) on a real database: events are
// written to the outbox as the subgraphs write them (the event store's trigger appends them to the
// log), then the projection is driven through its Projection interface as the runner drives it:
// one transaction per batch read from the log.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { LOG_START, positionAfter, readLog, type LogPosition } from "../events/store/log.ts";
import { searchProjection } from "../subgraphs/items/src/search/projection.ts";
import { lexemeRank } from "../subgraphs/items/src/search/tables.ts";
import { parseSearchArgs } from "../subgraphs/items/src/search/input.ts";
import { fullTextHits, fuzzyHits, termHits, type Hit } from "../subgraphs/items/src/search/query.ts";
import type { Cursor } from "../subgraphs/shared/pagination.ts";
import { createPrisma } from "../platform/db.ts";
import type { Identity } from "../platform/identity.ts";
import { ADMIN_DATABASE_URL } from "./support/preflight.ts";
import { migratedPgClient } from "./support/migrated-database.ts";
import { waitFor } from "./support/wait.ts";

const ORG = "00000000-0000-4000-8000-000000000001";
const OWNER = "00000000-0000-4000-8000-0000000000aa";
const MEMBER = "00000000-0000-4000-8000-0000000000bb";
const GUEST = "00000000-0000-4000-8000-0000000000cc";

interface Written {
  readonly eventType: string;
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly version: number;
  readonly data: Record<string, unknown>;
}

/** Builds events with the next version of each aggregate, as the subgraphs' writes number them. */
class Events {
  private readonly versions = new Map<string, number>();
  private readonly pending: Written[] = [];

  get size(): number {
    return this.pending.length;
  }

  add(eventType: string, aggregateType: string, aggregateId: string, data: Record<string, unknown>): this {
    const version = (this.versions.get(aggregateId) ?? 0) + 1;
    this.versions.set(aggregateId, version);
    this.pending.push({ eventType, aggregateType, aggregateId, version, data });
    return this;
  }
  board(boardId: string, eventType: string, data: Record<string, unknown> = {}): this {
    return this.add(eventType, "Board", boardId, { boardId, ...data });
  }
  item(itemId: string, boardId: string, eventType: string, data: Record<string, unknown> = {}): this {
    return this.add(eventType, "Item", itemId, { boardId, itemId, ...data });
  }
  comment(itemId: string, boardId: string, body: string, commentId = randomUUID()): this {
    return this.add("comment.added", "Comment", commentId, { boardId, itemId, commentId, authorId: OWNER, body });
  }
  /** Writes the pending events to the outbox in one transaction (the log trigger copies them). */
  async write(db: pg.ClientBase): Promise<void> {
    const rows = this.pending.splice(0).map((event) => ({
      id: randomUUID(),
      organizationId: ORG,
      topic: "item-events",
      eventType: event.eventType,
      aggregateType: event.aggregateType,
      aggregateId: event.aggregateId,
      aggregateVersion: event.version,
      envelope: {
        eventId: randomUUID(),
        eventType: event.eventType,
        schemaVersion: 1,
        aggregateId: event.aggregateId,
        aggregateType: event.aggregateType,
        version: event.version,
        data: event.data,
        metadata: { correlationId: "search-projection", userId: OWNER, organizationId: ORG, timestamp: new Date().toISOString(), source: "test" },
      },
    }));
    for (let start = 0; start < rows.length; start += 5_000) {
      await db.query(
        `INSERT INTO events."OutboxEvent" ("id", "organizationId", "topic", "eventType", "aggregateType", "aggregateId", "aggregateVersion", "envelope")
         SELECT "id", "organizationId", "topic", "eventType", "aggregateType", "aggregateId", "aggregateVersion", "envelope"
           FROM jsonb_to_recordset($1::jsonb) AS r("id" uuid, "organizationId" uuid, "topic" text, "eventType" text, "aggregateType" text, "aggregateId" uuid, "aggregateVersion" int, "envelope" jsonb)`,
        [JSON.stringify(rows.slice(start, start + 5_000))],
      );
    }
  }
}

/** Counts the statements sent through a client (the projection's work per batch). */
function counted(client: pg.Client): { client: pg.ClientBase; statements: () => number } {
  let statements = 0;
  const proxy = new Proxy(client, {
    get(target, key) {
      if (key === "query")
        return (...args: unknown[]) => {
          statements += 1;
          return (target.query as (...a: unknown[]) => unknown)(...args);
        };
      const value: unknown = Reflect.get(target, key);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { client: proxy, statements: () => statements };
}

describe("search projection", () => {
  const db = migratedPgClient("searchprojection");

  /**
   * Applies the log after `from` to `generation`, `batchSize` events per transaction, until every
   * event written so far is applied; returns where it stopped. The log is read up to the oldest
   * transaction still running on the server (any database's), so this waits out other work's.
   */
  async function project(generation: number, from: LogPosition = LOG_START, batchSize = 500, through: pg.ClientBase = db): Promise<LogPosition> {
    let position = from;
    const step = async () => {
      await db.query("BEGIN");
      const events = await readLog(db, position, batchSize);
      if (events.length > 0) batches += 1;
      await searchProjection.apply(through, generation, events);
      await db.query("COMMIT");
      position = positionAfter(position, events);
      return events.length;
    };
    const left = async () =>
      Number(
        (await db.query(`SELECT count(*) AS n FROM eventstore."Event" e WHERE (e."transactionId", e."sequence") > ($1::xid8, $2::bigint)`, [position.transactionId, position.sequence.toString()]))
          .rows[0].n,
      );
    await waitFor(
      "the projection to apply every event written",
      async () => {
        while ((await step()) === batchSize);
        return (await left()) === 0;
      },
      () => `${position.transactionId}/${position.sequence}`,
      120_000,
    );
    return position;
  }

  const documents = async (table: string, where = "true", params: unknown[] = []) =>
    (
      await db.query(
        `SELECT "id", "type", "boardId", "itemId", "title", "body", "status", "assigneeIds", "version", "updatedAt", "vector"::text AS "vector" FROM ${table} WHERE ${where} ORDER BY "id"`,
        params,
      )
    ).rows;
  /**
   * Posting rows that differ from what the documents' vectors give (one row per lexeme of each
   * document, with its rank), both ways and counting duplicates: none when the index is true.
   */
  async function strayPostings(generation: number): Promise<unknown[]> {
    const postings = `SELECT "lexeme", "rank", "documentId", "boardId" FROM search."Posting_g${generation}"`;
    const derived = `SELECT u."lexeme" COLLATE "C", ${lexemeRank('d."vector"', 'u."lexeme"')}, d."id", d."boardId" FROM search."Document_g${generation}" d CROSS JOIN LATERAL unnest(d."vector") u`;
    return (await db.query(`(${postings} EXCEPT ALL ${derived}) UNION ALL (${derived} EXCEPT ALL ${postings})`)).rows;
  }
  const board = async (id: string, generation = 1) =>
    (await db.query(`SELECT "kind", "ownerId", "archived", "sharedWith", "version" FROM search."Board_g${generation}" WHERE "id" = $1`, [id])).rows[0];

  const boardId = randomUUID();
  const itemId = randomUUID();
  const statusColumn = randomUUID();
  const textColumn = randomUUID();
  let position = LOG_START;
  /** Batches of at least one event applied so far. */
  let batches = 0;
  /** One numbering of versions for the whole file: each test continues the aggregates of the last. */
  const log = new Events();

  it("creates a generation's tables and points the views at it", async () => {
    await searchProjection.create(db, 1);
    await searchProjection.activate(db, 1);
    assert.deepEqual(await documents(`search."Document"`), []);
    assert.equal((await db.query(`SELECT count(*)::int AS n FROM search."Board"`)).rows[0].n, 0);
  });

  it("folds boards, items, columns, assignees and comments into documents", async () => {
    const events = log
      .board(boardId, "project.created", { workspaceId: randomUUID(), name: "Launch plan", kind: "PRIVATE", ownerId: OWNER })
      .board(boardId, "project.updated", { changes: { description: { from: null, to: "Everything for the spring launch" } } })
      .item(itemId, boardId, "project.item.created", {
        groupId: randomUUID(),
        name: "Draft the press release",
        position: 1,
        assigneeIds: [MEMBER],
        columnValues: [
          { columnId: statusColumn, value: { label: "Working on it" } },
          { columnId: randomUUID(), value: { userIds: [MEMBER] } },
        ],
      })
      .item(itemId, boardId, "project.item.updated", { changes: { name: { from: "Draft the press release", to: "Write the press release" } } })
      .item(itemId, boardId, "project.item.column_value.set", { columnId: textColumn, columnType: "TEXT", from: null, to: "Quote from the CEO" })
      .item(itemId, boardId, "project.item.column_value.set", { columnId: statusColumn, columnType: "STATUS", from: { label: "Working on it" }, to: { label: "Done" } })
      .item(itemId, boardId, "project.item.updated", { changes: { assignees: { added: [OWNER], removed: [MEMBER] } } })
      .item(itemId, boardId, "project.item.moved", { from: { groupId: randomUUID(), position: 1 }, to: { groupId: randomUUID(), position: 2 } })
      .comment(itemId, boardId, "Legal reviewed the embargo date");
    await events.write(db);
    position = await project(1);

    const docs = await documents(`search."Document"`);
    const byType = Object.fromEntries(docs.map((doc) => [doc.type, doc]));
    assert.deepEqual(Object.keys(byType).sort(), ["BOARD", "COMMENT", "ITEM"]);
    assert.equal(byType.BOARD.title, "Launch plan");
    assert.equal(byType.BOARD.body, "Everything for the spring launch");
    assert.equal(byType.BOARD.version, 2);
    assert.equal(byType.ITEM.title, "Write the press release");
    // Column texts in column id order.
    assert.equal(byType.ITEM.body, statusColumn < textColumn ? "Done\nQuote from the CEO" : "Quote from the CEO\nDone");
    assert.deepEqual(byType.ITEM.status, ["Done"]);
    assert.deepEqual(byType.ITEM.assigneeIds, [OWNER]);
    assert.equal(byType.ITEM.version, 6);
    assert.equal(byType.COMMENT.itemId, itemId);
    assert.equal(byType.COMMENT.boardId, boardId);
    assert.equal(byType.COMMENT.body, "Legal reviewed the embargo date");
    // Title weighted A (stemmed and as typed), body B.
    assert.match(byType.ITEM.vector, /'write':1A/);
    assert.match(byType.ITEM.vector, /'quot':\d+B|'quote':\d+B/);
    assert.deepEqual(await board(boardId), { kind: "PRIVATE", ownerId: OWNER, archived: false, sharedWith: [OWNER], version: 2 });
    // The titles' words as typed (3 letters or more), for typo corrections ("Draft …" was renamed in the same batch: never written).
    const words = (await db.query(`SELECT "word" FROM search."Word" ORDER BY "word"`)).rows.map((row) => row.word);
    assert.deepEqual(words, ["launch", "plan", "press", "release", "the", "write"]);
  });

  it("keeps the board facts the reading rules need: kind, shares, archive", async () => {
    await log
      .board(boardId, "project.member.added", { userId: GUEST, permission: "VIEWER" })
      .board(boardId, "project.member.added", { userId: MEMBER, permission: "EDITOR" })
      .board(boardId, "project.member.removed", { userId: GUEST })
      .board(boardId, "project.updated", { changes: { kind: { from: "PRIVATE", to: "SHAREABLE" } } })
      .write(db);
    position = await project(1, position);
    assert.deepEqual(await board(boardId), { kind: "SHAREABLE", ownerId: OWNER, archived: false, sharedWith: [OWNER, MEMBER], version: 6 });
  });

  it("gives the same documents when the same events are applied again, in any batch size", async () => {
    const before = await documents(`search."Document_g1"`);
    const boardsBefore = (await db.query(`SELECT * FROM search."Board_g1" ORDER BY "id"`)).rows;
    await project(1, LOG_START, 1);
    await project(1, LOG_START, 3);
    assert.deepEqual(await documents(`search."Document_g1"`), before);
    assert.deepEqual((await db.query(`SELECT * FROM search."Board_g1" ORDER BY "id"`)).rows, boardsBefore);

    // A second generation built from the start in single-event batches holds the same rows.
    await searchProjection.create(db, 2);
    await project(2, LOG_START, 1);
    assert.deepEqual(await documents(`search."Document_g2"`), before);
    assert.deepEqual((await db.query(`SELECT * FROM search."Board_g2" ORDER BY "id"`)).rows, boardsBefore);
    assert.deepEqual(await strayPostings(1), []);
    assert.deepEqual(await strayPostings(2), []);
  });

  it("removes a deleted item with its comments, and a replay or a late comment does not bring them back", async () => {
    await log
      .item(itemId, boardId, "project.item.deleted", { groupId: randomUUID() })
      // A comment whose transaction raced the delete and lands after it in the log.
      .comment(itemId, boardId, "Too late to matter")
      .write(db);
    position = await project(1, position);
    assert.deepEqual(await documents(`search."Document"`, `"itemId" = $1`, [itemId]), []);

    await project(1, LOG_START, 2);
    assert.deepEqual(await documents(`search."Document"`, `"itemId" = $1`, [itemId]), []);
    assert.equal((await documents(`search."Document"`, `"id" = $1`, [boardId])).length, 1, "the board's document stays");
    assert.deepEqual(await strayPostings(1), [], "a deleted item's and its comments' postings go with them");
  });

  it("marks an archived board in its facts (the query stops finding its documents)", async () => {
    await log.board(boardId, "project.archived").write(db);
    position = await project(1, position);
    assert.equal((await board(boardId))?.archived, true);
  });

  it("ignores events of aggregates it cannot place: a board without its creation, an unknown item's status change", async () => {
    const stranger = randomUUID();
    const seeded = randomUUID();
    await log
      .board(stranger, "project.member.added", { userId: MEMBER, permission: "EDITOR" })
      .item(seeded, stranger, "project.item.column_value.set", { columnId: statusColumn, columnType: "STATUS", from: null, to: { label: "Done" } })
      .write(db);
    position = await project(1, position);
    assert.equal(await board(stranger), undefined);
    assert.deepEqual(await documents(`search."Document"`, `"id" = ANY($1::uuid[])`, [[stranger, seeded]]), []);

    // A rename names the item: from then on it is a document.
    await log.item(seeded, stranger, "project.item.updated", { changes: { name: { from: "a", to: "Seeded item" } } }).write(db);
    position = await project(1, position);
    assert.equal((await documents(`search."Document"`, `"id" = $1`, [seeded]))[0]?.title, "Seeded item");
  });

  it("applies a bulk replay with a fixed number of statements per batch", async () => {
    const events = log;
    const boards = Array.from({ length: 20 }, () => randomUUID());
    for (const id of boards) events.board(id, "project.created", { workspaceId: randomUUID(), name: `Board ${id.slice(0, 4)}`, kind: "PUBLIC", ownerId: OWNER });
    for (let i = 0; i < 4_000; i += 1) {
      const id = randomUUID();
      const on = boards[i % boards.length] as string;
      events.item(id, on, "project.item.created", { groupId: randomUUID(), name: `Task ${i} about invoices`, position: i, assigneeIds: [], columnValues: [] });
      events.item(id, on, "project.item.updated", { changes: { name: { from: `Task ${i} about invoices`, to: `Task ${i} about receipts` } } });
      events.item(id, on, "project.item.column_value.set", { columnId: statusColumn, columnType: "STATUS", from: null, to: { label: i % 2 ? "Done" : "Stuck" } });
      events.comment(id, on, `Comment ${i} on the receipts`);
    }
    const total = events.size;
    await events.write(db);

    await searchProjection.create(db, 3);
    const { client, statements } = counted(db);
    const batchesBefore = batches;
    const started = performance.now();
    await project(3, LOG_START, 2_000, client);
    const seconds = (performance.now() - started) / 1_000;
    const applied = Number((await db.query(`SELECT count(*) AS n FROM eventstore."Event"`)).rows[0].n);
    // 4 reads and at most 8 writes per batch, whatever its size.
    assert.ok(statements() <= (batches - batchesBefore) * 12, `${statements()} statements for ${batches - batchesBefore} batches`);
    assert.ok(applied >= total);
    const count = (await db.query(`SELECT count(*)::int AS n FROM search."Document_g3" WHERE "title" LIKE 'Task % about receipts'`)).rows[0].n;
    assert.equal(count, 4_000);
    assert.deepEqual(await strayPostings(3), [], "renamed items' postings are their new names'");
    console.log(
      `search projection: ${applied} events in ${seconds.toFixed(2)} s (${Math.round(applied / seconds)} events/s, reading the log included and any wait for other transactions; a figure, not asserted)`,
    );
  });

  it("answers a one-word query from its rank-ordered postings exactly as the GIN index does, page after page, for each role", async () => {
    // Words drawn by a skewed law, so some are in most documents and some in few; "plan" and
    // "review" are prefixes of other words (and share stems with some), "zz" too short to expand.
    const vocabulary = ["plan", "planet", "planning", "review", "reviewer", "reviews", "launch", "budget", "copy", "legal", "venue", "kappa", "zz", "the"];
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const pick = () => vocabulary[Math.floor(vocabulary.length * random() ** 2.5)] as string;
    const phrase = (words: number) => Array.from({ length: words }, pick).join(" ");
    const kinds = ["PUBLIC", "PUBLIC", "PRIVATE", "PRIVATE", "SHAREABLE"] as const;
    const boards = kinds.map((kind) => ({ id: randomUUID(), kind }));
    for (const { id, kind } of boards) log.board(id, "project.created", { workspaceId: randomUUID(), name: `Board ${phrase(2)}`, kind, ownerId: OWNER });
    log.board((boards[2] as { id: string }).id, "project.member.added", { userId: MEMBER, permission: "VIEWER" });
    log.board((boards[4] as { id: string }).id, "project.member.added", { userId: GUEST, permission: "VIEWER" });
    const items: { id: string; board: string }[] = [];
    for (let i = 0; i < 400; i += 1) {
      const item = { id: randomUUID(), board: (boards[i % boards.length] as { id: string }).id };
      items.push(item);
      log.item(item.id, item.board, "project.item.created", { groupId: randomUUID(), name: phrase(2 + (i % 5)), position: i, assigneeIds: [], columnValues: [] });
      if (i % 2 === 0) log.comment(item.id, item.board, phrase(4 + (i % 11)));
    }
    for (const item of items.slice(0, 60)) log.item(item.id, item.board, "project.item.updated", { changes: { name: { from: "x", to: phrase(3) } } });
    for (const item of items.slice(60, 80)) log.item(item.id, item.board, "project.item.deleted", { groupId: randomUUID() });
    await log.write(db);
    position = await project(1, position);
    assert.deepEqual(await strayPostings(1), []);

    const url = new URL(ADMIN_DATABASE_URL);
    url.pathname = `/${db.database}`;
    const prisma = createPrisma({ url: url.toString(), poolMax: 2 });
    try {
      const people: Identity[] = [
        { userId: OWNER, organizationId: ORG, role: "OWNER" },
        { userId: MEMBER, organizationId: ORG, role: "MEMBER" },
        { userId: GUEST, organizationId: ORG, role: "GUEST" },
        { userId: OWNER, organizationId: randomUUID(), role: "OWNER" },
      ];
      const size = 6;
      const everyPage = async (search: (after: Cursor | null) => Promise<Hit[] | null>): Promise<Hit[]> => {
        const seen: Hit[] = [];
        let after: Cursor | null = null;
        for (;;) {
          const hits = await search(after);
          assert.ok(hits, "the posting index answers");
          seen.push(...hits.slice(0, size));
          const last = hits[size - 1];
          if (hits.length <= size || !last) return seen;
          after = { key: last.score, id: last.id };
        }
      };
      for (const query of ["plan", "planning", "review", "reviews", "budget", "kappa", "legal", "plann", "nothing", "the", "zz"]) {
        const request = parseSearchArgs({ query, first: size });
        for (const person of people) {
          const fromPostings = await everyPage((after) => termHits(prisma, person, request, after, size + 1));
          const fromGin = await everyPage((after) => fullTextHits(prisma, person, request, after, size + 1));
          assert.deepEqual(fromPostings, fromGin, `${query} as ${person.role} of ${person.organizationId}`);
          if (person.organizationId !== ORG) assert.deepEqual(fromPostings, []);
        }
      }
      // Typos: the corrections' posting lists give what the GIN index does (a filter on the time
      // of change that every document passes makes the GIN index answer).
      for (const query of ["budgte", "reviewr", "planing", "kapa", "veneu"]) {
        for (const person of people) {
          const fromPostings = await everyPage((after) => fuzzyHits(prisma, person, parseSearchArgs({ query, first: size }), after, size + 1));
          const everything = parseSearchArgs({ query, first: size, filter: { updatedAfter: new Date(0) } });
          const fromGin = await everyPage((after) => fuzzyHits(prisma, person, everything, after, size + 1));
          assert.deepEqual(fromPostings, fromGin, `typo ${query} as ${person.role} of ${person.organizationId}`);
          if (person.role === "OWNER" && person.organizationId === ORG && ["budgte", "reviewr", "planing"].includes(query)) assert.ok(fromPostings.length > 0, `${query} is corrected`);
        }
      }
      const owner = people[0] as Identity;
      assert.ok((await everyPage((after) => termHits(prisma, owner, parseSearchArgs({ query: "review" }), after, size + 1))).length > 20, "a common word has pages of hits");
      // Not one word, or filtered by more than boards: the GIN index answers.
      assert.equal(await termHits(prisma, owner, parseSearchArgs({ query: "plan review" }), null, 5), null);
      assert.equal(await termHits(prisma, owner, parseSearchArgs({ query: "plan", filter: { types: ["ITEM"] } }), null, 5), null);
    } finally {
      await prisma.$disconnect();
    }
  });

  it("gives a generation made before the posting index its postings and view with its next batch", async () => {
    await db.query(`DROP VIEW search."Posting"`);
    await db.query(`DROP TABLE search."Posting_g1"`);
    const upgraded = randomUUID();
    await log.item(upgraded, boardId, "project.item.created", { groupId: randomUUID(), name: "Made after the upgrade", position: 1, assigneeIds: [], columnValues: [] }).write(db);
    position = await project(1, position);
    assert.deepEqual(await strayPostings(1), []);
    const postings = await db.query(`SELECT count(*)::int AS n FROM search."Posting" WHERE "documentId" = $1`, [upgraded]);
    assert.ok(postings.rows[0].n > 0);
  });

  it("gives a generation made with the words' GiST index the GIN one (no pending list) with its next batch", async () => {
    const wordIndexes = async () =>
      (
        await db.query<{ name: string; method: string; options: string[] | null }>(
          `SELECT c.relname AS "name", am.amname AS "method", c.reloptions AS "options" FROM pg_index i
             JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
            WHERE i.indrelid = 'search."Word_g1"'::regclass AND NOT i.indisprimary ORDER BY 1`,
        )
      ).rows;
    assert.deepEqual(await wordIndexes(), [{ name: "Word_typo_g1", method: "gin", options: ["fastupdate=off"] }]);
    await db.query(`DROP INDEX search."Word_typo_g1"`);
    await db.query(`CREATE INDEX "Word_similar_g1" ON search."Word_g1" USING gist ("word" gist_trgm_ops)`);
    await log.item(randomUUID(), boardId, "project.item.created", { groupId: randomUUID(), name: "Quokka habitat", position: 1, assigneeIds: [], columnValues: [] }).write(db);
    position = await project(1, position);
    assert.deepEqual(await wordIndexes(), [{ name: "Word_typo_g1", method: "gin", options: ["fastupdate=off"] }]);
    await db.query("SET enable_seqscan = off");
    try {
      const { rows } = await db.query<{ word: string }>(`SELECT "word" FROM search."Word" WHERE "word" % 'quokkka'`);
      assert.deepEqual(
        rows.map((row) => row.word),
        ["quokka"],
        "the new word is found similar to a typo, through the index",
      );
    } finally {
      await db.query("RESET enable_seqscan");
    }
  });

  it("builds a rebuilt generation's postings in one go when it is settled, not batch by batch", async () => {
    await db.query(`INSERT INTO eventstore."Projection" ("name", "generation", "status") VALUES ('search', 4, 'building')`);
    await searchProjection.create(db, 4);
    await project(4, LOG_START, 2_000);
    assert.equal((await db.query(`SELECT to_regclass('search."Posting_g4"') AS t`)).rows[0].t, null, "no postings while replaying");
    await searchProjection.settle?.(db, 4);
    assert.deepEqual(await strayPostings(4), []);
    assert.ok((await db.query(`SELECT count(*)::int AS n FROM search."Posting_g4"`)).rows[0].n > 10_000);
    await db.query(`DELETE FROM eventstore."Projection" WHERE "name" = 'search' AND "generation" = 4`);
    await searchProjection.drop(db, 4);
  });

  it("drops a retired generation's tables", async () => {
    await searchProjection.drop(db, 2);
    await searchProjection.drop(db, 3);
    const { rows } = await db.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'search' ORDER BY tablename`);
    assert.deepEqual(
      rows.map((row) => row.tablename),
      ["Board_g1", "Deleted_g1", "Document_g1", "Posting_g1", "Word_g1"],
    );
  });
});
