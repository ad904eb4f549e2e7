// The cursor rules of events/streams/resume.ts on their own (no Redis): subscription cursors are
// Redis stream entry ids ("<ms>-<seq>"); compareCursors orders them as the stream does, and
// verifyCursor decides whether resuming after one loses nothing (CURSOR_EXPIRED when its entry has
// been trimmed or the stream is gone, CURSOR_INVALID when it is no entry id or lies in the future; a past one ahead of the
// stream was lost: CURSOR_EXPIRED). The Redis side (checkCursor, catchUp, latestCursor) is test/stream-resume.test.ts's.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CursorError, compareCursors, verifyCursor, type CursorProblem } from "../events/streams/resume.ts";

/** The largest entry id part Redis allows (an unsigned 64-bit integer). */
const U64_MAX = "18446744073709551615";

function failsWith(code: CursorProblem, message?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof CursorError, `a CursorError, not ${String(error)}`);
    assert.ok(error instanceof Error);
    assert.equal(error.code, code);
    if (message) assert.match(error.message, message);
    return true;
  };
}

describe("compareCursors", () => {
  it("orders by milliseconds first, then by sequence", () => {
    assert.equal(compareCursors("1-0", "2-0"), -1);
    assert.equal(compareCursors("2-0", "1-0"), 1);
    assert.equal(compareCursors("5-1", "5-2"), -1);
    assert.equal(compareCursors("5-2", "5-1"), 1);
    assert.equal(compareCursors("4-999", "5-0"), -1, "a later millisecond wins over any sequence");
    assert.equal(compareCursors("1700000000000-3", "1700000000000-3"), 0);
  });

  it("compares numbers, not text", () => {
    assert.equal(compareCursors("9-0", "10-0"), -1);
    assert.equal(compareCursors("5-9", "5-10"), -1);
    assert.equal(compareCursors("1700000000000-0", "999999999999-0"), 1);
  });

  it("is exact beyond 2^53 (ids are unsigned 64-bit)", () => {
    assert.equal(compareCursors(`${U64_MAX}-0`, "18446744073709551614-0"), 1);
    assert.equal(compareCursors("9007199254740993-0", "9007199254740992-0"), 1, "would be equal as doubles");
    assert.equal(compareCursors(`1-${U64_MAX}`, "1-18446744073709551614"), 1);
  });

  it("reads a missing sequence as 0, as Redis does", () => {
    assert.equal(compareCursors("5", "5-0"), 0);
    assert.equal(compareCursors("5", "5-1"), -1);
  });

  it("is antisymmetric and sorts a shuffled list into stream order", () => {
    const ordered = ["0-1", "1-0", "1-1", "1-10", "2-0", "10-0", "1700000000000-0", "1700000000000-5", `${U64_MAX}-0`];
    const shuffled = [...ordered].reverse();
    shuffled.push(shuffled.shift() as string);
    assert.deepEqual(shuffled.sort(compareCursors), ordered);
    for (const a of ordered) for (const b of ordered) assert.equal(compareCursors(a, b) + compareCursors(b, a), 0, `${a} vs ${b}`);
  });
});

describe("verifyCursor", () => {
  const oldest = "1700000000000-0";
  const newest = "1700000005000-3";

  it("accepts the oldest entry, the newest entry and anything between", () => {
    for (const cursor of [oldest, "1700000000000-1", "1700000002500-0", newest]) assert.doesNotThrow(() => verifyCursor(cursor, oldest, newest), cursor);
  });

  it("accepts a cursor between entries (ids need not exist: the stream gives out only ids it has, but trimming happens at any id)", () => {
    assert.doesNotThrow(() => verifyCursor("1700000001234-7", oldest, newest));
  });

  it("refuses what is not a stream entry id as CURSOR_INVALID", () => {
    for (const cursor of ["", "abc", "1700000000000", "1700000000000-", "-1", "1-2-3", "1-a", " 1-0", "1-0 ", "+", "-", "$", "1.5-0", "0x10-0", `1${U64_MAX}0-0`]) {
      assert.throws(() => verifyCursor(cursor, oldest, newest), failsWith("CURSOR_INVALID", /not a cursor this API gave out/), JSON.stringify(cursor));
    }
  });

  it("says CURSOR_EXPIRED for a cursor older than the oldest entry kept (trimmed: events were lost)", () => {
    assert.throws(() => verifyCursor("1699999999999-9", oldest, newest), failsWith("CURSOR_EXPIRED", /no longer kept/));
    assert.throws(() => verifyCursor("0-1", oldest, newest), failsWith("CURSOR_EXPIRED"));
  });

  it("says CURSOR_EXPIRED for any cursor of a stream that is empty or gone (retention, a Redis restart)", () => {
    for (const cursor of [oldest, newest, "0-0", "1-1"]) {
      assert.throws(() => verifyCursor(cursor, undefined, undefined), failsWith("CURSOR_EXPIRED"), cursor);
    }
  });

  it("says CURSOR_INVALID for a cursor from the future (not one this stream gave out)", () => {
    const now = 1_700_000_010_000;
    assert.throws(() => verifyCursor("1700000075000-0", oldest, newest, now), failsWith("CURSOR_INVALID", /ahead of this stream/));
    assert.throws(() => verifyCursor(`${U64_MAX}-${U64_MAX}`, oldest, newest), failsWith("CURSOR_INVALID", /ahead/));
    // 20 digits but past what Redis can hold: ahead of any stream, refused before it reaches XRANGE.
    assert.throws(() => verifyCursor("99999999999999999999-0", oldest, newest), failsWith("CURSOR_INVALID", /ahead/));
  });

  it("says CURSOR_EXPIRED for a past cursor ahead of the newest entry (lost with a failover to a replica that lacked it)", () => {
    const now = 1_700_000_010_000;
    assert.throws(() => verifyCursor("1700000005000-4", oldest, newest, now), failsWith("CURSOR_EXPIRED", /may have been lost/));
    assert.throws(() => verifyCursor("1700000069000-0", oldest, newest, now), failsWith("CURSOR_EXPIRED"), "within the clock skew allowed");
  });

  it("checks the shape before the stream: an invalid cursor of a gone stream is invalid, not expired", () => {
    assert.throws(() => verifyCursor("yesterday", undefined, undefined), failsWith("CURSOR_INVALID"));
  });

  it("accepts a one-entry stream's only cursor", () => {
    assert.doesNotThrow(() => verifyCursor(oldest, oldest, oldest));
  });
});

describe("CursorError", () => {
  it("is an Error carrying its code", () => {
    const error = new CursorError("CURSOR_EXPIRED", "gone");
    assert.ok(error instanceof Error);
    assert.equal(error.code, "CURSOR_EXPIRED");
    assert.equal(error.message, "gone");
  });
});
