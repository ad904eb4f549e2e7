import type { StreamRef } from "./names.ts";
import type { StreamEntry } from "./resume.ts";

export type { StreamRef } from "./names.ts";
export type { StreamEntry } from "./resume.ts";

/** Something long-lived that is stopped explicitly. */
export interface Disposable {
  dispose(): Promise<void>;
}

/**
 * What a subscription server reads: append-only streams of event envelopes with cursors, and a
 * wake-up when something was appended. Redis Streams + pub/sub in the full stack
 * (`redisFeed`), an in-process store in the embedded default (`MemoryEventStore`).
 *
 * Wake-ups are hints, not data: a reader always reads the stream after the last cursor it handled,
 * so a lost wake-up delays an event until the next one (or a reconnect), never loses it.
 */
export interface EventFeed {
  /** Rejects with CursorError when resuming after `cursor` would lose events (trimmed) or it is not ours. */
  check(stream: StreamRef, cursor: string): Promise<void>;
  /** Entries after `cursor` (exclusive), oldest first, at most `limit`. */
  read(stream: StreamRef, cursor: string, limit: number): Promise<StreamEntry[]>;
  /** The newest entry's cursor ("0-0" for an empty stream): where live delivery starts. */
  latest(stream: StreamRef): Promise<string>;
  /**
   * Calls `onWake` after appends to the stream, and after the feed reconnected (wake-ups may have
   * been lost meanwhile). Resolves once the watch is in place, so a read after it misses nothing.
   */
  watch(stream: StreamRef, onWake: () => void): Promise<Disposable>;
  /**
   * Calls `listener` after the feed lost its connection and got it back: a Redis restarted without
   * persistence may have lost entries nobody read yet, which readers find out with `check`.
   */
  onReconnect?(listener: () => void): () => void;
  /** Closes connections the feed opened. */
  dispose(): Promise<void>;
}
