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

  constructor(
    readonly ref: StreamRef,
    private readonly feed: EventFeed,
    /** Handles one event; the next waits for it, so each subscriber sees the stream's order. */
    private readonly handle: (event: StreamEvent, tail: StreamTail<S>) => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

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
      this.onError(error);
      setTimeout(() => this.wake(), RETRY_MS).unref();
    }
  }

  /**
   * After the feed reconnected: is the entry this tail handled last still in the stream? If not
   * (a Redis restarted without persistence) entries may be lost unread: `onGap` is told, and the
   * tail goes on from the stream's newest entry. Other failures wait for the next reconnect.
   */
  async verify(onGap: () => void): Promise<void> {
    if (this.stopped || this.claimed === "0-0") return;
    const claimed = this.claimed;
    try {
      await this.feed.check(this.ref, claimed);
    } catch (error) {
      if (!(error instanceof CursorError)) return;
      onGap();
      // Unless a read has moved on meanwhile, go on from the newest entry of the new stream.
      const latest = await this.feed.latest(this.ref).catch(() => claimed);
      if (this.claimed === claimed) this.claimed = latest;
      this.wake();
    }
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
