import type { Redis } from "ioredis";
import { streamKeys, streamsOf } from "../streams/names.ts";

/**
 * Appends one event to its organisation's stream (and its board's, when it has one), invalidates
 * the item cache and publishes wake-ups: all or nothing, and only the first time this event id is
 * seen. One script, so a crash can only replay the whole step, which the seen-marker then skips.
 */
const APPEND = `
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) == false then
  return 0
end
local orgId = redis.call('XADD', KEYS[2], 'MINID', '~', ARGV[3], '*', 'type', ARGV[6], 'event', ARGV[1])
redis.call('PUBLISH', ARGV[7], orgId)
local boardId = false
if ARGV[4] == '1' then
  boardId = redis.call('XADD', KEYS[3], 'MINID', '~', ARGV[3], '*', 'type', ARGV[6], 'event', ARGV[1])
  redis.call('PUBLISH', ARGV[8], boardId)
end
if ARGV[5] == '1' then
  redis.call('DEL', KEYS[4])
end
return {orgId, boardId}
`;

export interface AppendTarget {
  readonly eventId: string;
  readonly eventType: string;
  readonly organizationId: string;
  readonly boardId: string | null;
  readonly itemId: string | null;
  /** The envelope as JSON. */
  readonly payload: string;
}

export interface AppendResult {
  readonly duplicate: boolean;
  /** Stream ids: the cursors a subscriber resumes from. */
  readonly orgEntryId: string | null;
  readonly boardEntryId: string | null;
}

type AppendCommand = (
  seen: string,
  orgStream: string,
  boardStream: string,
  itemCache: string,
  payload: string,
  seenTtlSeconds: number,
  minId: string,
  hasBoard: string,
  hasItem: string,
  eventType: string,
  orgWake: string,
  boardWake: string,
) => Promise<0 | [string, string | null]>;

export interface StreamAppender {
  append(target: AppendTarget): Promise<AppendResult>;
}

export function createStreamAppender(
  redis: Redis,
  options: { consumerGroup: string; retentionMs: number; seenTtlSeconds: number; keyPrefix?: string },
): StreamAppender {
  const prefix = options.keyPrefix ?? "";
  const streams = streamsOf(prefix);
  redis.defineCommand("sundayAppendEvent", { numberOfKeys: 4, lua: APPEND });
  const command = (redis as unknown as { sundayAppendEvent: AppendCommand }).sundayAppendEvent.bind(redis);
  return {
    async append(target) {
      const org = streams.org(target.organizationId);
      const board = target.boardId ? streams.board(target.boardId) : null;
      const result = await command(
        `${prefix}bridge:${options.consumerGroup}:seen:${target.eventId}`,
        org.key,
        board?.key ?? "none",
        target.itemId ? prefix + streamKeys.itemCache(target.itemId) : "none",
        target.payload,
        options.seenTtlSeconds,
        `${Date.now() - options.retentionMs}-0`,
        target.boardId ? "1" : "0",
        target.itemId ? "1" : "0",
        target.eventType,
        org.wake,
        board?.wake ?? "none",
      );
      if (result === 0) return { duplicate: true, orgEntryId: null, boardEntryId: null };
      return { duplicate: false, orgEntryId: result[0], boardEntryId: result[1] ?? null };
    },
  };
}
