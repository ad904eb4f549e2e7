import { LRUCache } from "lru-cache";
import type { AppendResult, AppendTarget, StreamAppender } from "../bridge/redis-append.ts";
import { STREAM_RETENTION_MS, streamsOf } from "./names.ts";
import type { Disposable, EventFeed, StreamRef } from "./feed.ts";
import { compareCursors, verifyCursor, type StreamEntry } from "./resume.ts";

/**
 * The embedded default's Redis stand-in for events: streams per organisation and board with the
 * same cursors (`<ms>-<seq>`), trimming, duplicate drop by event id and wake-ups as the Redis
 * bridge script and feed, in this process. Nothing survives a restart, as with a Redis without
 * persistence: a cursor from before it gets CURSOR_EXPIRED.
 */
export class MemoryEventStore implements StreamAppender, EventFeed {
  private readonly streams = new Map<string, StreamEntry[]>();
  private readonly watchers = new Map<string, Set<() => void>>();
  /** Event ids appended, to drop duplicates: bounded, as the bridge's seen-markers expire. */
  private readonly seen = new LRUCache<string, true>({ max: 100_000 });
  private readonly refs = streamsOf();
  private lastMs = 0;
  private seq = 0;

  private readonly options: { retentionMs?: number; maxEntries?: number };

  constructor(options: { retentionMs?: number; maxEntries?: number } = {}) {
    this.options = options;
  }

  async append(target: AppendTarget): Promise<AppendResult> {
    if (this.seen.has(target.eventId)) return { duplicate: true, orgEntryId: null, boardEntryId: null };
    this.seen.set(target.eventId, true);
    const orgEntryId = this.push(this.refs.org(target.organizationId), target);
    const boardEntryId = target.boardId ? this.push(this.refs.board(target.organizationId, target.boardId), target) : null;
    return { duplicate: false, orgEntryId, boardEntryId };
  }

  async check(stream: StreamRef, cursor: string): Promise<void> {
    const entries = this.streams.get(stream.key) ?? [];
    verifyCursor(cursor, entries[0]?.cursor, entries.at(-1)?.cursor);
  }

  async read(stream: StreamRef, cursor: string, limit: number): Promise<StreamEntry[]> {
    const entries = this.streams.get(stream.key) ?? [];
    const start = entries.findIndex((entry) => compareCursors(entry.cursor, cursor) > 0);
    return start < 0 ? [] : entries.slice(start, start + limit);
  }

  async latest(stream: StreamRef): Promise<string> {
    return this.streams.get(stream.key)?.at(-1)?.cursor ?? "0-0";
  }

  async watch(stream: StreamRef, onWake: () => void): Promise<Disposable> {
    let set = this.watchers.get(stream.wake);
    if (!set) this.watchers.set(stream.wake, (set = new Set()));
    set.add(onWake);
    return {
      dispose: async () => {
        set.delete(onWake);
      },
    };
  }

  async dispose(): Promise<void> {
    this.watchers.clear();
  }

  private push(stream: StreamRef, target: AppendTarget): string {
    const now = Date.now();
    if (now > this.lastMs) {
      this.lastMs = now;
      this.seq = 0;
    } else {
      this.seq += 1;
    }
    const cursor = `${this.lastMs}-${this.seq}`;
    let entries = this.streams.get(stream.key);
    if (!entries) this.streams.set(stream.key, (entries = []));
    entries.push({ cursor, eventType: target.eventType, event: target.payload });
    const horizon = now - (this.options.retentionMs ?? STREAM_RETENTION_MS);
    const excess = entries.length - (this.options.maxEntries ?? 10_000);
    let drop = Math.max(0, excess);
    while (drop < entries.length && Number(entries[drop]?.cursor.split("-")[0]) < horizon) drop += 1;
    if (drop > 0) entries.splice(0, drop);
    // Wake after the entry is readable, and outside this call, as pub/sub would.
    queueMicrotask(() => {
      for (const onWake of this.watchers.get(stream.wake) ?? []) onWake();
    });
    return cursor;
  }
}
