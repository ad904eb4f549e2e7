import { EventEmitter } from "node:events";
import type { RedisClient } from "../../../platform/redis.ts";
import type { Disposable } from "../../../events/streams/feed.ts";

/** A change of who views a board, as every gateway instance hears it. */
export interface PresenceChange {
  readonly boardId: string;
  readonly change: "JOINED" | "LEFT";
  readonly userId: string;
  readonly at: string;
}

/**
 * Who views which board, shared by every gateway instance: one member per subscription
 * (`<userId>|<viewId>`, so two tabs of one user are two members but one viewer), each with an
 * expiry its instance keeps pushing forward (heartbeat). A dead instance's members expire and the
 * next sweep by any instance removes them; each removal happens once, so LEFT is announced once.
 */
export interface PresenceStore {
  /** Adds a member; `first` when the user had no other member on the board. */
  join(boardId: string, userId: string, viewId: string, expiresAt: number): Promise<{ first: boolean }>;
  /** Removes a member; `last` when it was the user's last one. */
  leave(boardId: string, userId: string, viewId: string): Promise<{ last: boolean }>;
  /** Pushes the expiry of the given members forward. */
  heartbeat(boardId: string, members: readonly { userId: string; viewId: string }[], expiresAt: number): Promise<void>;
  /** Removes expired members; the users who thereby left the board. */
  sweep(boardId: string, now: number): Promise<string[]>;
  /** Distinct viewers, earliest joined first. */
  viewers(boardId: string): Promise<string[]>;
  announce(change: PresenceChange): Promise<void>;
  watch(boardId: string, onChange: (change: PresenceChange) => void): Promise<Disposable>;
  dispose(): Promise<void>;
}

const member = (userId: string, viewId: string) => `${userId}|${viewId}`;
const userOf = (entry: string) => entry.slice(0, entry.indexOf("|"));

/** How long an abandoned viewers key outlives its last write. */
const KEY_TTL_SECONDS = 3600;

/**
 * The user's members of a board. Scores are expiries, so ZRANGEBYLEX (equal scores only) cannot
 * find a prefix: a board's viewers are few, and one read of the set is cheap.
 */
const MEMBERS_OF = `
local function membersOf(key, user)
  local found = {}
  for _, entry in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    if string.sub(entry, 1, #user + 1) == user .. '|' then table.insert(found, entry) end
  end
  return found
end
`;
/** ZADD and "was this the user's first member" in one step: two tabs joining at once announce JOINED once. */
const JOIN = `${MEMBERS_OF}
local before = membersOf(KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1] .. '|' .. ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return #before
`;
const LEAVE = `${MEMBERS_OF}
if redis.call('ZREM', KEYS[1], ARGV[1] .. '|' .. ARGV[2]) == 0 then return -1 end
return #membersOf(KEYS[1], ARGV[1])
`;
const SWEEP = `${MEMBERS_OF}
local gone = {}
for _, entry in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])) do
  if redis.call('ZREM', KEYS[1], entry) == 1 then
    local user = string.sub(entry, 1, string.find(entry, '|', 1, true) - 1)
    if #membersOf(KEYS[1], user) == 0 then table.insert(gone, user) end
  end
end
return gone
`;

/** Presence in Redis: the sorted set `board:{id}:viewers` (score = expiry, ms) and the pub/sub channel `board:{id}:presence`. */
export function redisPresenceStore(redis: RedisClient, prefix = ""): PresenceStore {
  const key = (boardId: string) => `${prefix}board:${boardId}:viewers`;
  const channel = (boardId: string) => `${prefix}board:${boardId}:presence`;
  const subscriber = redis.duplicate();
  // A duplicate does not inherit the error listeners: without one ioredis prints every failed
  // reconnect. An outage shows in the presence calls that fail (and their logs).
  subscriber.on("error", () => undefined);
  const events = new EventEmitter();
  events.setMaxListeners(0);
  subscriber.on("message", (name: string, message: string) => {
    try {
      const change = JSON.parse(message) as PresenceChange;
      events.emit(name, change);
    } catch {
      // Not ours; ignore.
    }
  });
  redis.defineCommand("sundayPresenceJoin", { numberOfKeys: 1, lua: JOIN });
  redis.defineCommand("sundayPresenceLeave", { numberOfKeys: 1, lua: LEAVE });
  redis.defineCommand("sundayPresenceSweep", { numberOfKeys: 1, lua: SWEEP });
  const commands = redis as unknown as {
    sundayPresenceJoin(key: string, userId: string, viewId: string, score: number, ttl: number): Promise<number>;
    sundayPresenceLeave(key: string, userId: string, viewId: string): Promise<number>;
    sundayPresenceSweep(key: string, now: number): Promise<string[]>;
  };
  return {
    async join(boardId, userId, viewId, expiresAt) {
      const before = await commands.sundayPresenceJoin(key(boardId), userId, viewId, expiresAt, KEY_TTL_SECONDS);
      return { first: before === 0 };
    },
    async leave(boardId, userId, viewId) {
      const rest = await commands.sundayPresenceLeave(key(boardId), userId, viewId);
      return { last: rest === 0 };
    },
    async heartbeat(boardId, members, expiresAt) {
      if (members.length === 0) return;
      // XX: a member a sweep already removed stays removed (its LEFT was announced).
      await redis.zadd(key(boardId), "XX", ...members.flatMap((entry) => [expiresAt, member(entry.userId, entry.viewId)]));
      await redis.expire(key(boardId), KEY_TTL_SECONDS);
    },
    sweep: (boardId, now) => commands.sundayPresenceSweep(key(boardId), now),
    async viewers(boardId) {
      return distinctUsers(await redis.zrange(key(boardId), 0, -1));
    },
    async announce(change) {
      await redis.publish(channel(change.boardId), JSON.stringify(change));
    },
    async watch(boardId, onChange) {
      const name = channel(boardId);
      if (events.listenerCount(name) === 0) await subscriber.subscribe(name);
      events.on(name, onChange);
      return {
        async dispose() {
          events.off(name, onChange);
          if (events.listenerCount(name) === 0 && subscriber.status === "ready") await subscriber.unsubscribe(name);
        },
      };
    },
    async dispose() {
      events.removeAllListeners();
      subscriber.disconnect();
    },
  };
}

function distinctUsers(entries: readonly string[]): string[] {
  return [...new Set(entries.map(userOf))];
}

/** The embedded default's presence: the same rules in this process. */
export function memoryPresenceStore(): PresenceStore {
  const boards = new Map<string, Map<string, number>>();
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const membersOf = (boardId: string) => {
    let members = boards.get(boardId);
    if (!members) boards.set(boardId, (members = new Map()));
    return members;
  };
  const hasUser = (members: Map<string, number>, userId: string) => [...members.keys()].some((entry) => userOf(entry) === userId);
  return {
    async join(boardId, userId, viewId, expiresAt) {
      const members = membersOf(boardId);
      const first = !hasUser(members, userId);
      members.set(member(userId, viewId), expiresAt);
      return { first };
    },
    async leave(boardId, userId, viewId) {
      const members = membersOf(boardId);
      if (!members.delete(member(userId, viewId))) return { last: false };
      return { last: !hasUser(members, userId) };
    },
    async heartbeat(boardId, list, expiresAt) {
      const members = membersOf(boardId);
      for (const entry of list) if (members.has(member(entry.userId, entry.viewId))) members.set(member(entry.userId, entry.viewId), expiresAt);
    },
    async sweep(boardId, now) {
      const members = membersOf(boardId);
      const gone: string[] = [];
      for (const [entry, expiresAt] of members) {
        if (expiresAt > now) continue;
        members.delete(entry);
        if (!hasUser(members, userOf(entry))) gone.push(userOf(entry));
      }
      return gone;
    },
    async viewers(boardId) {
      return distinctUsers([...membersOf(boardId)].sort((a, b) => a[1] - b[1]).map(([entry]) => entry));
    },
    async announce(change) {
      queueMicrotask(() => events.emit(change.boardId, change));
    },
    async watch(boardId, onChange) {
      events.on(boardId, onChange);
      return {
        async dispose() {
          events.off(boardId, onChange);
        },
      };
    },
    async dispose() {
      events.removeAllListeners();
    },
  };
}
