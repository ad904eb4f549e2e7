import type { Redis } from "ioredis";
import type { Disposable, EventFeed, StreamRef } from "./feed.ts";
import { checkCursor, latestCursor, readAfter } from "./resume.ts";

/**
 * The full stack's feed: Redis Streams written by the bridge, wake-ups on its pub/sub channels.
 * One subscriber connection per feed, shared by every watch; `redis` serves the reads.
 */
export function redisFeed(redis: Redis): EventFeed {
  const subscriber = redis.duplicate();
  const watchers = new Map<string, Set<() => void>>();
  let connectedOnce = false;

  subscriber.on("message", (channel: string) => {
    for (const onWake of watchers.get(channel) ?? []) onWake();
  });
  // ioredis re-subscribes by itself after a reconnect; what was published meanwhile is gone, so
  // every watcher re-reads its stream.
  subscriber.on("ready", () => {
    if (connectedOnce) for (const set of watchers.values()) for (const onWake of set) onWake();
    connectedOnce = true;
  });

  return {
    check: (stream, cursor) => checkCursor(redis, stream.key, cursor),
    read: (stream, cursor, limit) => readAfter(redis, stream.key, cursor, limit),
    latest: (stream) => latestCursor(redis, stream.key),
    async watch(stream: StreamRef, onWake: () => void): Promise<Disposable> {
      let set = watchers.get(stream.wake);
      if (!set) {
        set = new Set();
        watchers.set(stream.wake, set);
        await subscriber.subscribe(stream.wake);
      }
      set.add(onWake);
      return {
        async dispose() {
          const current = watchers.get(stream.wake);
          if (!current?.delete(onWake) || current.size > 0) return;
          watchers.delete(stream.wake);
          if (subscriber.status === "ready") await subscriber.unsubscribe(stream.wake);
        },
      };
    },
    async dispose() {
      watchers.clear();
      subscriber.disconnect();
    },
  };
}
