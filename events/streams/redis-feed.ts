import { isCluster, type RedisClient } from "../../platform/redis.ts";
import type { Disposable, EventFeed, StreamRef } from "./feed.ts";
import { checkCursor, latestCursor, readAfter } from "./resume.ts";

/**
 * The full stack's feed: RedisClient Streams written by the bridge, wake-ups on its pub/sub channels.
 * One subscriber connection per feed, shared by every watch; `redis` serves the reads.
 */
export function redisFeed(redis: RedisClient): EventFeed {
  const subscriber = redis.duplicate();
  // A duplicate does not inherit the error listeners: without one ioredis prints every failed
  // reconnect. An outage shows in the reads that fail, and its end in "ready" below.
  subscriber.on("error", () => undefined);
  const watchers = new Map<string, Set<() => void>>();
  /** Each watched channel's SUBSCRIBE, awaited by all its watchers; forgotten when it fails, so the next watch sends it again. */
  const subscribed = new Map<string, Promise<unknown>>();
  let connectedOnce = false;

  subscriber.on("message", (channel: string) => {
    for (const onWake of watchers.get(channel) ?? []) onWake();
  });
  // ioredis re-subscribes by itself after a reconnect; what was published meanwhile is gone, so
  // every watcher re-reads its stream.
  const reconnected = new Set<() => void>();
  const recover = () => {
    for (const listener of reconnected) listener();
    for (const set of watchers.values()) for (const onWake of set) onWake();
  };
  subscriber.on("ready", () => {
    if (connectedOnce) recover();
    connectedOnce = true;
  });
  // A cluster stays "ready" through a failover: a node leaving is the sign that a master may have
  // been replaced by a replica missing its last entries, and that wake-ups may have been missed.
  if (isCluster(redis)) redis.on("-node", recover);

  return {
    check: (stream, cursor) => checkCursor(redis, stream.key, cursor),
    read: (stream, cursor, limit) => readAfter(redis, stream.key, cursor, limit),
    latest: (stream) => latestCursor(redis, stream.key),
    onReconnect(listener) {
      reconnected.add(listener);
      return () => reconnected.delete(listener);
    },
    async watch(stream: StreamRef, onWake: () => void): Promise<Disposable> {
      for (;;) {
        let set = watchers.get(stream.wake);
        if (!set) watchers.set(stream.wake, (set = new Set()));
        let ready = subscribed.get(stream.wake);
        if (!ready) subscribed.set(stream.wake, (ready = subscriber.subscribe(stream.wake)));
        try {
          await ready;
        } catch (error) {
          // Redis away. Leaving the channel marked as watched would make every later watch skip its
          // SUBSCRIBE: those streams would get no wake-ups, hence no live events, after Redis is back.
          if (subscribed.get(stream.wake) === ready) subscribed.delete(stream.wake);
          if (set.size === 0 && watchers.get(stream.wake) === set) watchers.delete(stream.wake);
          throw error;
        }
        // The channel's last watcher may have left (and unsubscribed) while this one waited: start over.
        if (watchers.get(stream.wake) !== set || subscribed.get(stream.wake) !== ready) continue;
        set.add(onWake);
        return {
          async dispose() {
            const current = watchers.get(stream.wake);
            if (!current?.delete(onWake) || current.size > 0) return;
            watchers.delete(stream.wake);
            subscribed.delete(stream.wake);
            if (subscriber.status === "ready") await subscriber.unsubscribe(stream.wake);
          },
        };
      }
    },
    async dispose() {
      watchers.clear();
      subscribed.clear();
      subscriber.disconnect();
    },
  };
}
