import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { catchUp, CursorError, latestCursor } from "../events/streams/resume.ts";
import { TEST_REDIS_URL, preflight } from "./support/preflight.ts";

describe("resuming a board stream after a cursor", () => {
  let redis: Redis;
  const key = `test:resume:${randomUUID()}`;
  const cursors: string[] = [];

  before(async () => {
    await preflight("redis");
    redis = new Redis(TEST_REDIS_URL);
    for (let index = 0; index < 1200; index += 1) {
      cursors.push((await redis.xadd(key, "*", "type", "project.item.updated", "event", JSON.stringify({ index }))) ?? "");
    }
  });
  after(async () => {
    await redis.del(key);
    redis.disconnect();
  });

  it("returns exactly the entries after the cursor, in order, across pages", async () => {
    const missed = await catchUp(redis, key, cursors[99] ?? "", 500);
    assert.equal(missed.length, 1100);
    assert.deepEqual(
      missed.map((entry) => entry.cursor),
      cursors.slice(100),
    );
    assert.equal(JSON.parse(missed[0]?.event ?? "{}").index, 100);
    assert.deepEqual(await catchUp(redis, key, cursors.at(-1) ?? ""), [], "nothing after the newest");
    assert.equal(await latestCursor(redis, key), cursors.at(-1));
  });

  it("refuses a cursor whose entry was trimmed away with CURSOR_EXPIRED", async () => {
    await redis.xtrim(key, "MINID", cursors[500] ?? "");
    await assert.rejects(catchUp(redis, key, cursors[10] ?? ""), (error: unknown) => error instanceof CursorError && error.code === "CURSOR_EXPIRED");
    assert.equal((await catchUp(redis, key, cursors[500] ?? "")).length, 699, "the oldest kept entry still resumes");
  });

  it("expires every cursor of a stream that is gone, and refuses malformed or future cursors", async () => {
    await assert.rejects(catchUp(redis, `${key}:missing`, cursors[0] ?? ""), (error: unknown) => error instanceof CursorError && error.code === "CURSOR_EXPIRED");
    await assert.rejects(catchUp(redis, key, "yesterday"), (error: unknown) => error instanceof CursorError && error.code === "CURSOR_INVALID");
    await assert.rejects(catchUp(redis, key, `${Date.now() + 86_400_000}-0`), (error: unknown) => error instanceof CursorError && error.code === "CURSOR_INVALID");
  });
});
