// subgraphs/shared/pagination.ts on its own (no services): keyset cursors (a [key, id] pair in
// base64url JSON), page sizes, Relay connections and the keyset `where` fragment. A cursor that is
// not one this API gave out is refused as BAD_USER_INPUT on `after` with reason CURSOR_INVALID.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { GraphQLError } from "graphql";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, argsKey, dateKey, decodeCursor, encodeCursor, keysetAfter, pageRequest, pageSize, toConnection, type PageRequest } from "../subgraphs/shared/pagination.ts";

const ID = "6f1c2b9e-3d4a-4b5c-8d6e-7f8091a2b3c4";
const OTHER_ID = "0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d";
const INSTANT = "2025-12-09T09:00:00.000Z";
const raw = (text: string) => Buffer.from(text).toString("base64url");

/** The refusal every bad cursor gets (message `message`, default the generic one). */
function isInvalidCursor(message = "after is not a valid cursor") {
  return (error: GraphQLError) => {
    assert.equal(error.message, message);
    assert.deepEqual(error.extensions, { code: "BAD_USER_INPUT", field: "after", reason: "CURSOR_INVALID" });
    return true;
  };
}

describe("encodeCursor / decodeCursor", () => {
  it("round-trips date, number and untyped keys", () => {
    assert.deepEqual(decodeCursor(encodeCursor({ key: INSTANT, id: ID }), "date"), { key: INSTANT, id: ID });
    assert.deepEqual(decodeCursor(encodeCursor({ key: 1024.5, id: ID }), "number"), { key: 1024.5, id: ID });
    assert.deepEqual(decodeCursor(encodeCursor({ key: -3, id: ID }), "number"), { key: -3, id: ID });
    assert.deepEqual(decodeCursor(encodeCursor({ key: 0, id: ID })), { key: 0, id: ID });
    assert.deepEqual(decodeCursor(encodeCursor({ key: "Alpha", id: ID })), { key: "Alpha", id: ID });
  });

  it("is URL-safe base64 of the JSON pair, without padding", () => {
    const cursor = encodeCursor({ key: INSTANT, id: ID });
    assert.match(cursor, /^[A-Za-z0-9_-]+$/);
    assert.equal(Buffer.from(cursor, "base64url").toString("utf8"), JSON.stringify([INSTANT, ID]));
  });

  it("gives different cursors to different positions", () => {
    assert.notEqual(encodeCursor({ key: 1, id: ID }), encodeCursor({ key: 2, id: ID }));
    assert.notEqual(encodeCursor({ key: 1, id: ID }), encodeCursor({ key: 1, id: OTHER_ID }));
    assert.notEqual(encodeCursor({ key: 1, id: ID }), encodeCursor({ key: "1", id: ID }));
  });

  it("lower-cases the id (ids compare in lower case in SQL)", () => {
    assert.deepEqual(decodeCursor(raw(JSON.stringify([5, ID.toUpperCase()])), "number"), { key: 5, id: ID });
  });

  it("refuses what is not base64url JSON of a [key, id] pair", () => {
    for (const cursor of [
      "",
      "!!!!",
      "not a cursor",
      raw("{}"),
      raw("null"),
      raw('"x"'),
      raw("[]"),
      raw(`["${INSTANT}"]`),
      raw(`["${INSTANT}","${ID}",1]`),
      raw(`{"key":1,"id":"${ID}"}`),
      raw(`["${INSTANT}","${ID}"`),
    ]) {
      assert.throws(() => decodeCursor(cursor, "date"), isInvalidCursor(), JSON.stringify(cursor));
    }
  });

  it("refuses an id that is not a UUID of this API (the nil UUID included)", () => {
    for (const id of ["x", "", 42, null, "00000000-0000-0000-0000-000000000000", `${ID}0`, ID.replaceAll("-", "")]) {
      assert.throws(() => decodeCursor(raw(JSON.stringify([INSTANT, id])), "date"), isInvalidCursor(), String(id));
    }
  });

  it("refuses a date key that is not an instant as toISOString writes it", () => {
    for (const key of ["2025-12-09", "2025-12-09T09:00:00Z", "2025-12-09T09:00:00.000+00:00", "2026-02-30T00:00:00.000Z", "2025-12-09T24:00:00.000Z", "soon", ""]) {
      assert.throws(() => decodeCursor(raw(JSON.stringify([key, ID])), "date"), isInvalidCursor(), key);
    }
  });

  it("refuses a date key of the instant's shape that is no date at all (month 13, day 32, minute 60) as invalid, not with a RangeError", () => {
    // These used to reach toISOString() on an Invalid Date, whose RangeError became a 500.
    for (const key of ["2025-13-01T00:00:00.000Z", "2025-12-32T00:00:00.000Z", "2025-12-09T23:60:00.000Z", "2025-00-10T00:00:00.000Z"]) {
      assert.throws(() => decodeCursor(raw(JSON.stringify([key, ID])), "date"), isInvalidCursor(), key);
      assert.throws(() => decodeCursor(raw(JSON.stringify([key, ID])), "number"), isInvalidCursor(), `${key} on a number list`);
      assert.throws(() => dateKey(key), isInvalidCursor(), `dateKey ${key}`);
    }
  });

  it("refuses keys of other types than a string or a finite number", () => {
    for (const key of [null, true, [1], { at: 1 }]) {
      assert.throws(() => decodeCursor(raw(JSON.stringify([key, ID]))), isInvalidCursor(), JSON.stringify(key));
    }
    // JSON has no Infinity, but a forged 1e999 parses to it.
    assert.throws(() => decodeCursor(raw(`[1e999,"${ID}"]`), "number"), isInvalidCursor());
    assert.throws(() => decodeCursor(raw(`[-1e999,"${ID}"]`)), isInvalidCursor());
  });

  it("says a well-formed cursor of another ordering of the list is one", () => {
    assert.throws(() => decodeCursor(encodeCursor({ key: INSTANT, id: ID }), "number"), isInvalidCursor("after is a cursor of another ordering"));
    assert.throws(() => decodeCursor(encodeCursor({ key: 3.5, id: ID }), "date"), isInvalidCursor("after is a cursor of another ordering"));
    // A string that is no instant is not "another ordering" of a number list: just invalid.
    assert.throws(() => decodeCursor(encodeCursor({ key: "Alpha", id: ID }), "number"), isInvalidCursor());
  });

  it("bounds untyped string keys at 64 characters", () => {
    assert.deepEqual(decodeCursor(encodeCursor({ key: "k".repeat(64), id: ID })), { key: "k".repeat(64), id: ID });
    assert.throws(() => decodeCursor(encodeCursor({ key: "k".repeat(65), id: ID })), isInvalidCursor());
  });

  it("refuses cursors over 1,000 characters without decoding them", () => {
    const long = encodeCursor({ key: "k".repeat(64), id: ID }).padEnd(1001, "A");
    assert.throws(() => decodeCursor(long), isInvalidCursor());
    assert.throws(() => decodeCursor("A".repeat(1_000_000)), isInvalidCursor());
  });
});

describe("pageSize", () => {
  it(`is ${DEFAULT_PAGE_SIZE} when not given`, () => {
    assert.equal(DEFAULT_PAGE_SIZE, 50);
    assert.equal(pageSize(undefined), DEFAULT_PAGE_SIZE);
    assert.equal(pageSize(null), DEFAULT_PAGE_SIZE);
  });

  it(`is what was asked from 0 to ${MAX_PAGE_SIZE}`, () => {
    assert.equal(MAX_PAGE_SIZE, 1000);
    for (const first of [0, 1, 25, MAX_PAGE_SIZE]) assert.equal(pageSize(first), first);
  });

  it("refuses more than the maximum, negative and fractional sizes", () => {
    assert.throws(
      () => pageSize(MAX_PAGE_SIZE + 1),
      (error: GraphQLError) => {
        assert.equal(error.message, `first must be at most ${MAX_PAGE_SIZE}`);
        assert.deepEqual(error.extensions, { code: "BAD_USER_INPUT", field: "first" });
        return true;
      },
    );
    for (const first of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(
        () => pageSize(first),
        (error: GraphQLError) => {
          assert.equal(error.message, "first must be a non-negative integer");
          assert.deepEqual(error.extensions, { code: "BAD_USER_INPUT", field: "first" });
          return true;
        },
        String(first),
      );
    }
  });
});

describe("pageRequest", () => {
  it("parses the size and the cursor of the list's kind", () => {
    const after = encodeCursor({ key: INSTANT, id: ID });
    assert.deepEqual(pageRequest({ first: 10, after }, "date"), { size: 10, after: { key: INSTANT, id: ID } });
    assert.deepEqual(pageRequest({}), { size: DEFAULT_PAGE_SIZE, after: null });
    assert.deepEqual(pageRequest({ first: null, after: null }), { size: DEFAULT_PAGE_SIZE, after: null });
    assert.deepEqual(pageRequest({ after: "" }), { size: DEFAULT_PAGE_SIZE, after: null }, "an empty cursor is the first page");
  });

  it("refuses a bad cursor or a bad size", () => {
    assert.throws(() => pageRequest({ after: "bogus" }, "date"), isInvalidCursor());
    assert.throws(() => pageRequest({ first: -5 }), /non-negative/);
  });
});

describe("toConnection", () => {
  interface Row {
    readonly id: string;
    readonly position: number;
  }
  const rows: Row[] = [1, 2, 3].map((position) => ({ id: `${position}0000000-0000-4000-8000-000000000000`, position }));
  const cursorOf = (row: Row) => ({ key: row.position, id: row.id });
  const request = (size: number, after: PageRequest["after"] = null): PageRequest => ({ size, after });

  it("has a next page when one row more than the size was fetched, and returns only the page", () => {
    const connection = toConnection(rows, request(2), cursorOf);
    assert.deepEqual(connection.nodes, rows.slice(0, 2));
    assert.deepEqual(
      connection.edges.map((edge) => edge.node),
      rows.slice(0, 2),
    );
    assert.equal(connection.pageInfo.hasNextPage, true);
    assert.equal(connection.pageInfo.hasPreviousPage, false);
  });

  it("has no next page when the rows fit", () => {
    const connection = toConnection(rows, request(3), cursorOf);
    assert.equal(connection.nodes.length, 3);
    assert.equal(connection.pageInfo.hasNextPage, false);
  });

  it("gives each edge the cursor of its row; start and end cursors are the first and last edge's", () => {
    const connection = toConnection(rows, request(2, { key: 0, id: ID }), cursorOf);
    assert.deepEqual(
      connection.edges.map((edge) => decodeCursor(edge.cursor, "number")),
      rows.slice(0, 2).map(cursorOf),
    );
    assert.equal(connection.pageInfo.startCursor, connection.edges[0]?.cursor);
    assert.equal(connection.pageInfo.endCursor, connection.edges[1]?.cursor);
    assert.equal(connection.pageInfo.hasPreviousPage, true, "a page after a cursor has one before it");
  });

  it("has null cursors for an empty page", () => {
    const connection = toConnection([], request(10), cursorOf);
    assert.deepEqual(connection, { edges: [], nodes: [], pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null } });
  });

  it("returns no rows for a page of size 0, saying whether there are any", () => {
    const connection = toConnection(rows.slice(0, 1), request(0), cursorOf);
    assert.deepEqual(connection.nodes, []);
    assert.equal(connection.pageInfo.hasNextPage, true);
    assert.equal(connection.pageInfo.endCursor, null);
  });
});

describe("argsKey", () => {
  it("is the same for equal arguments in any key order, at any depth", () => {
    assert.equal(argsKey({ first: 10, filter: { b: 1, a: 2 } }), argsKey({ filter: { a: 2, b: 1 }, first: 10 }));
    assert.equal(argsKey({ first: 10, filter: { a: 2, b: 1 } }), '{"filter":{"a":2,"b":1},"first":10}');
  });

  it("differs for different arguments, and keeps array order", () => {
    assert.notEqual(argsKey({ first: 10 }), argsKey({ first: 11 }));
    assert.notEqual(argsKey({ ids: [1, 2] }), argsKey({ ids: [2, 1] }));
    assert.notEqual(argsKey({ after: null }), argsKey({}));
  });
});

describe("keysetAfter", () => {
  it("is no condition on the first page", () => {
    assert.deepEqual(keysetAfter("position", "asc", null), []);
  });

  it("is (field > key) or (field = key and id > cursor id) ascending", () => {
    assert.deepEqual(keysetAfter("position", "asc", { key: 5, id: ID }), [{ OR: [{ position: { gt: 5 } }, { position: 5, id: { gt: ID } }] }]);
  });

  it("uses lt descending, and the key as decodeKey turns it into a column value", () => {
    assert.deepEqual(keysetAfter("createdAt", "desc", { key: INSTANT, id: ID }, dateKey), [{ OR: [{ createdAt: { lt: new Date(INSTANT) } }, { createdAt: new Date(INSTANT), id: { lt: ID } }] }]);
  });
});

describe("dateKey", () => {
  it("turns a checked ISO instant into a Date", () => {
    const date = dateKey(INSTANT);
    assert.ok(date instanceof Date);
    assert.equal(date.toISOString(), INSTANT);
  });

  it("refuses a number or a string that is no canonical instant as an invalid cursor", () => {
    for (const key of [1_700_000_000_000, "2025-12-09", "2026-02-30T00:00:00.000Z"]) assert.throws(() => dateKey(key), isInvalidCursor(), String(key));
  });
});
