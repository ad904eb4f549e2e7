import type { Disposable, EventFeed, StreamRef } from "../../../events/streams/feed.ts";
import { compareCursors, CursorError } from "../../../events/streams/resume.ts";
import { parseEntry, type StreamEvent } from "./events.ts";

/** Entries read per round trip. */
const PAGE = 200;
/** Wait before reading again after a failed read. */
const RETRY_MS = 1_000;

/**
 * One stream followed by this gateway instance for all of its local subscribers: read once, in
 * order, after the last cursor handled; woken by the feed. `claimed` is the cursor of the entry
 * being (or last) handled: everything after it is the tail's to deliver, everything up to it was
 * already read, which is how a resuming subscriber knows where its catch-up ends (see Hub).
 */
export class StreamTail<S> {
  readonly subscribers = new Set<S>();
  claimed = "0-0";
  private watch: Disposable | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  /**
   * Set when Redis may have restarted (the feed reconnected, or a read failed): before reading on,
   * the tail checks that the entry at `claimed` is still there. This check is part of the read
   * round, never beside it: a round that read the restarted stream first would move `claimed` onto
   * one of its entries, which exists, and the loss would go untold.
   */
  private unverified = false;

  readonly ref: StreamRef;
  private readonly feed: EventFeed;
  private readonly handle: (event: StreamEvent, tail: StreamTail<S>) => Promise<void>;
  private readonly onError: (error: unknown) => void;
  private readonly onGap: () => void;

  constructor(
    ref: StreamRef,
    feed: EventFeed,
    /** Handles one event; the next waits for it, so each subscriber sees the stream's order. */
    handle: (event: StreamEvent, tail: StreamTail<S>) => Promise<void>,
    onError: (error: unknown) => void,
    /** Entries this tail had not read may be lost (a Redis restarted without persistence). */
    onGap: () => void,
  ) {
    this.ref = ref;
    this.feed = feed;
    this.handle = handle;
    this.onError = onError;
    this.onGap = onGap;
  }

  /** Starts following from the stream's newest entry; the watch comes first so nothing falls between. */
  async start(): Promise<void> {
    this.watch = await this.feed.watch(this.ref, () => this.wake());
    this.claimed = await this.feed.latest(this.ref);
  }

  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      if (this.unverified) await this.verifyClaimed();
      for (;;) {
        const page = await this.feed.read(this.ref, this.claimed, PAGE);
        for (const entry of page) {
          if (this.stopped) return;
          if (compareCursors(entry.cursor, this.claimed) <= 0) continue;
          this.claimed = entry.cursor;
          const event = parseEntry(entry);
          if (event) await this.handle(event, this);
        }
        if (page.length < PAGE) return;
      }
    } catch (error) {
      // Redis away: the feed wakes every watcher when it reconnects; a retry covers a read that failed
      // on a connection that never dropped. Either way reading resumes after `claimed`.
      // The failure may be Redis going away: check `claimed` before the next read.
      this.unverified = true;
      this.onError(error);
      setTimeout(() => this.wake(), RETRY_MS).unref();
    }
  }

  /** After the feed reconnected: the next read round first checks that nothing was lost (see `unverified`). */
  reverify(): void {
    this.unverified = true;
    this.wake();
  }

  /**
   * Is the entry this tail handled last still in the stream? If not (a Redis restarted without
   * persistence), entries may be lost unread: `onGap` is told, and the tail goes on from the stream's
   * newest entry. A failed check throws: the read round retries, still unverified.
   */
  private async verifyClaimed(): Promise<void> {
    // Nothing handled yet: nothing this tail could have lost.
    if (this.claimed !== "0-0") {
      try {
        await this.feed.check(this.ref, this.claimed);
      } catch (error) {
        if (!(error instanceof CursorError)) throw error;
        this.onGap();
        this.claimed = await this.feed.latest(this.ref);
      }
    }
    this.unverified = false;
  }

  /** Resolves once the current read round is over; for a stable point in tests and shutdown. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async dispose(): Promise<void> {
    this.stopped = true;
    await this.watch?.dispose();
    await this.running;
  }
}
