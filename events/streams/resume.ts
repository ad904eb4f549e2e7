import type { RedisClient } from "../../platform/redis.ts";
import type { ErrorCode } from "../../platform/error-codes.ts";

/** A stream entry id: the cursor every delivered event carries. */
const ENTRY_ID = /^\d{1,20}-\d{1,20}$/;

export type CursorProblem = Extract<ErrorCode, "CURSOR_EXPIRED" | "CURSOR_INVALID">;

export class CursorError extends Error {
  readonly code: CursorProblem;

  constructor(code: CursorProblem, message: string) {
    super(message);
    this.code = code;
  }
}

export interface StreamEntry {
  /** The entry id: pass it back as `after` to resume right after this event. */
  readonly cursor: string;
  readonly eventType: string;
  /** The event envelope as JSON. */
  readonly event: string;
  /** The `traceparent` of the append (OpenTelemetry on): deliveries continue its trace. */
  readonly trace?: string;
}

/** Orders two cursors (stream entry ids) as the stream does. */
export function compareCursors(a: string, b: string): number {
  const [aMs = 0n, aSeq = 0n] = a.split("-").map(BigInt);
  const [bMs = 0n, bSeq = 0n] = b.split("-").map(BigInt);
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  if (aSeq !== bSeq) return aSeq < bSeq ? -1 : 1;
  return 0;
}

function toEntry([cursor, fields]: [string, string[]]): StreamEntry {
  const value = (name: string) => fields[fields.indexOf(name) + 1] ?? "";
  const traced = fields.includes("trace");
  return traced
    ? { cursor, eventType: value("type"), event: value("event"), trace: value("trace") }
    : { cursor, eventType: value("type"), event: value("event") };
}

/**
 * Checks that resuming after `cursor` loses nothing: the cursor's own entry must still be in the
 * stream (streams are trimmed oldest first, so if it is there, everything after it is too). A
 * stream that is gone (retention, or a Redis restart without persistence) expires every cursor, and
 * so does an entry missing from the middle: a failover to a replica that had not received it.
 */
export async function checkCursor(redis: RedisClient, key: string, cursor: string): Promise<void> {
  if (!ENTRY_ID.test(cursor)) throw new CursorError("CURSOR_INVALID", NOT_A_CURSOR);
  const [own, first, last] = await Promise.all([
    redis.xrange(key, cursor, cursor),
    redis.xrange(key, "-", "+", "COUNT", 1),
    redis.xrevrange(key, "+", "-", "COUNT", 1),
  ]);
  if (own.length > 0) return;
  verifyCursor(cursor, first[0]?.[0], last[0]?.[0]);
  throw new CursorError("CURSOR_EXPIRED", LOST);
}

const NOT_A_CURSOR = "after is not a cursor this API gave out";
const LOST = "Events after this cursor may have been lost; refetch and subscribe again";
/** How far a cursor may lie in the future (clock skew between Redis nodes) before it is a forgery. */
const SKEW_MS = 60_000n;

/**
 * The rule of checkCursor over a stream's oldest and newest ids (undefined: the stream is empty or
 * gone). A cursor ahead of the newest entry was lost with a failover or restart when its time has
 * passed; one from the future was never given out.
 */
export function verifyCursor(cursor: string, oldest: string | undefined, newest: string | undefined, now = Date.now()): void {
  if (!ENTRY_ID.test(cursor)) throw new CursorError("CURSOR_INVALID", NOT_A_CURSOR);
  if (oldest === undefined || compareCursors(cursor, oldest) < 0) {
    throw new CursorError("CURSOR_EXPIRED", "Events after this cursor are no longer kept; refetch and subscribe again");
  }
  if (newest !== undefined && compareCursors(cursor, newest) > 0) {
    if (BigInt(cursor.split("-")[0] ?? "0") > BigInt(now) + SKEW_MS) throw new CursorError("CURSOR_INVALID", "after is ahead of this stream");
    throw new CursorError("CURSOR_EXPIRED", LOST);
  }
}

/** The entries after `cursor` (exclusive), oldest first, at most `limit`. */
export async function readAfter(redis: RedisClient, key: string, cursor: string, limit = 500): Promise<StreamEntry[]> {
  const entries = await redis.xrange(key, `(${cursor}`, "+", "COUNT", limit);
  return entries.map(toEntry);
}

/** Everything after `cursor`, checked first: the catch-up a reconnecting client gets before live events. */
export async function catchUp(redis: RedisClient, key: string, cursor: string, pageSize = 500): Promise<StreamEntry[]> {
  await checkCursor(redis, key, cursor);
  const missed: StreamEntry[] = [];
  let after = cursor;
  for (;;) {
    const page = await readAfter(redis, key, after, pageSize);
    missed.push(...page);
    const last = page.at(-1);
    if (page.length < pageSize || !last) return missed;
    after = last.cursor;
  }
}

/** The newest entry's cursor, to start live delivery from "now" without a gap. */
export async function latestCursor(redis: RedisClient, key: string): Promise<string> {
  const last = await redis.xrevrange(key, "+", "-", "COUNT", 1);
  return last[0]?.[0] ?? "0-0";
}
