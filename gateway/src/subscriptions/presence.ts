import { randomUUID } from "node:crypto";
import type { ExecutionResult } from "graphql";
import type { Disposable } from "../../../events/streams/feed.ts";
import type { Logger } from "../../../platform/logger.ts";
import { Channel } from "./channel.ts";
import type { FanOut, Recipient } from "./fan-out.ts";
import type { Connection } from "./hub.ts";
import type { EventSource, SubscriptionPayload } from "./payload.ts";
import type { PresenceChange, PresenceStore } from "./presence-store.ts";

interface Viewer extends Recipient {
  readonly userId: string;
  readonly viewId: string;
}

interface Board {
  readonly viewers: Set<Viewer>;
  watch: Promise<Disposable>;
  /** Changes of one board are delivered one after the other, in the order heard. */
  queue: Promise<void>;
}

export interface BoardPresenceOptions {
  readonly store: PresenceStore;
  readonly fanOut: FanOut;
  readonly logger: Logger;
  /** How often this instance renews its viewers and sweeps expired ones. @default 10_000 */
  readonly heartbeatMs?: number;
  /** How long a viewer stays without a heartbeat (a socket that died silently). @default 30_000 */
  readonly expiryMs?: number;
}

/**
 * boardPresence: subscribing makes the caller a viewer of the board (until the subscription ends
 * or, when the socket dies without a goodbye, its heartbeat expires); every instance hears JOINED
 * and LEFT through the store and sends them, with the current viewers, to its own subscribers.
 */
export class BoardPresence {
  private readonly boards = new Map<string, Board>();
  private readonly timer: NodeJS.Timeout;
  private readonly expiryMs: number;

  private readonly options: BoardPresenceOptions;

  constructor(options: BoardPresenceOptions) {
    this.options = options;
    this.expiryMs = options.expiryMs ?? 30_000;
    this.timer = setInterval(() => void this.beat(), options.heartbeatMs ?? 10_000);
    this.timer.unref();
  }

  /** Starts viewing; the first result is a SNAPSHOT of who views the board. Access is checked by the caller. */
  start(connection: Connection, boardId: string, payload: SubscriptionPayload): Channel<ExecutionResult> {
    const { userId } = connection.caller.identity;
    const viewer: Viewer = {
      connection,
      payload,
      userId,
      viewId: randomUUID(),
      channel: new Channel<ExecutionResult>(() => void this.stop(boardId, viewer)),
    };
    const board = this.board(boardId);
    board.viewers.add(viewer);
    board.queue = board.queue
      .then(async () => {
        await board.watch;
        const { first } = await this.options.store.join(boardId, userId, viewer.viewId, Date.now() + this.expiryMs);
        await this.send(boardId, [viewer], { change: "SNAPSHOT", userId: null });
        if (first) await this.options.store.announce({ boardId, change: "JOINED", userId, at: new Date().toISOString() });
      })
      .catch((error: unknown) => this.options.logger.warn({ err: error, boardId }, "joining board presence failed"));
    return viewer.channel;
  }

  async dispose(): Promise<void> {
    clearInterval(this.timer);
    const viewers = [...this.boards.values()].flatMap((board) => [...board.viewers]);
    for (const viewer of viewers) viewer.channel.finish();
    await Promise.all([...this.boards.values()].map((board) => board.queue));
  }

  private board(boardId: string): Board {
    let board = this.boards.get(boardId);
    if (!board) {
      const created: Board = { viewers: new Set(), watch: Promise.resolve({ dispose: async () => undefined }), queue: Promise.resolve() };
      created.watch = this.options.store.watch(boardId, (change) => this.heard(created, change));
      this.boards.set(boardId, (board = created));
    }
    return board;
  }

  private heard(board: Board, change: PresenceChange): void {
    board.queue = board.queue
      // Your own arrival is already in the SNAPSHOT you got.
      .then(() => {
        const viewers = [...board.viewers].filter((viewer) => change.change !== "JOINED" || viewer.userId !== change.userId);
        return this.send(change.boardId, viewers, { change: change.change, userId: change.userId, at: change.at });
      })
      .catch((error: unknown) => this.options.logger.warn({ err: error, boardId: change.boardId }, "presence delivery failed"));
  }

  private async send(boardId: string, viewers: readonly Viewer[], change: { change: string; userId: string | null; at?: string }): Promise<void> {
    if (viewers.length === 0) return;
    const ids = await this.options.store.viewers(boardId);
    const source: EventSource = {
      values: { boardId, change: change.change, viewerCount: ids.length, occurredAt: change.at ?? new Date().toISOString() },
      entities: { user: change.userId, viewers: ids },
    };
    await this.options.fanOut.deliver(
      viewers.filter((viewer) => !viewer.channel.closed).map((subscriber) => ({ subscriber, source })),
      boardId,
    );
  }

  private async stop(boardId: string, viewer: Viewer): Promise<void> {
    const board = this.boards.get(boardId);
    if (!board?.viewers.delete(viewer)) return;
    if (board.viewers.size === 0) {
      this.boards.delete(boardId);
      void board.watch.then((watch) => watch.dispose());
    }
    try {
      const { last } = await this.options.store.leave(boardId, viewer.userId, viewer.viewId);
      if (last) await this.options.store.announce({ boardId, change: "LEFT", userId: viewer.userId, at: new Date().toISOString() });
    } catch (error) {
      // The heartbeat stops with the viewer: the store's expiry removes it, and a sweep announces LEFT.
      this.options.logger.warn({ err: error, boardId }, "leaving board presence failed");
    }
  }

  /** Renews this instance's viewers and removes expired ones (of any instance), announcing who left. */
  private async beat(): Promise<void> {
    const now = Date.now();
    for (const [boardId, board] of this.boards) {
      try {
        const members = [...board.viewers].map((viewer) => ({ userId: viewer.userId, viewId: viewer.viewId }));
        await this.options.store.heartbeat(boardId, members, now + this.expiryMs);
        for (const userId of await this.options.store.sweep(boardId, now)) {
          await this.options.store.announce({ boardId, change: "LEFT", userId, at: new Date(now).toISOString() });
        }
      } catch (error) {
        this.options.logger.warn({ err: error, boardId }, "presence heartbeat failed");
      }
    }
  }
}
