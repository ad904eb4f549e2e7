import { GraphQLError, type ExecutionResult } from "graphql";
import type { Caller } from "../auth/authenticate.ts";
import type { RunOperation } from "../execution/run-operation.ts";
import type { EventFeed, StreamRef } from "../../../events/streams/feed.ts";
import { streamsOf } from "../../../events/streams/names.ts";
import { compareCursors, CursorError } from "../../../events/streams/resume.ts";
import type { Logger } from "../../../platform/logger.ts";
import { BoardAccess, type BoardReaders } from "./access.ts";
import { EntityViews } from "./entity-views.ts";
import { Channel } from "./channel.ts";
import { accessChangeOf, boardActivityOf, boardIdOf, itemIdOf, notificationOf, parseEntry, type StreamEvent } from "./events.ts";
import type { EventSource, SubscriptionPayload } from "./payload.ts";
import { CLOSE_CODES, SUBSCRIPTION_ERROR_CODES } from "./protocol.ts";
import { FanOut, forbidden, interrupt, type Recipient } from "./fan-out.ts";
import { StreamTail } from "./tail.ts";

/** A socket as the hub sees it: who is on it, and how to close it. */
export interface Connection {
  readonly caller: Caller;
  readonly correlationId: string;
  close(code: number, reason: string): void;
}

/** What a subscription follows, decided (and authorised) when it starts. */
export type SubscriptionTarget =
  | { readonly kind: "boardActivity"; readonly boardId: string; readonly after?: string }
  | { readonly kind: "itemChanged"; readonly itemId: string; readonly after?: string }
  | { readonly kind: "myNotifications"; readonly after?: string };

interface Subscriber extends Recipient {
  /** What this subscriber is sent of an event (boardActivity, one item's, one user's notifications); null: nothing. */
  readonly view: (event: StreamEvent) => EventSource | null;
  /** Cursor of the last event handled for this subscriber: delivered, filtered out or refused. */
  position: string;
  /** False while a resuming subscriber reads what it missed; the tail skips it meanwhile. */
  live: boolean;
}

export interface HubOptions {
  readonly feed: EventFeed;
  readonly run: RunOperation;
  readonly logger: Logger;
  /** Namespace of the streams (the bridge's keyPrefix). @default "" */
  readonly streamPrefix?: string;
  /** See BoardAccess. @default 30_000 */
  readonly accessTtlMs?: number;
  /** Who may read a board, many readers per question (`boardReadersOf`). */
  readonly readers: BoardReaders;
  /** Each read of the entity views, served or left to a fetch (metrics). */
  readonly onViewRead?: (result: "hit" | "miss") => void;
  /** Each result of a live event pushed to a subscriber, with the event's time (metrics). */
  readonly onDelivered?: (occurredAt: string) => void;
}

/**
 * The transport-free core of live subscriptions (graphql-ws is one adapter, see ws-server.ts).
 * Per gateway instance it follows each needed stream once (StreamTail) and fans every event out
 * to the local subscribers that may read it: the reading right is checked per event and
 * subscriber (cached, see BoardAccess), entity fields are fetched through the federated plan once
 * per distinct selection and event (or, for board-shared selections, kept between events and
 * patched by them, see EntityViews), shaped once per distinct document, and pushed to each socket.
 * Nothing lives only here but the sockets: cursors are the streams', so a client that reconnects
 * (to any instance) resumes with `after` and misses nothing.
 */
export class SubscriptionHub {
  readonly access: BoardAccess;
  /** Shared with presence, which delivers through the same access checks. */
  readonly fanOut: FanOut;
  /** Board-shared answers kept between events, brought up to date by every event read. */
  readonly views: EntityViews;
  private readonly stopVerifying: () => void;
  private readonly streams;
  private readonly tails = new Map<string, Promise<StreamTail<Subscriber>>>();
  private readonly uses = new Map<string, number>();
  private readonly connections = new Map<string, Set<Connection>>();

  private readonly options: HubOptions;

  constructor(options: HubOptions) {
    this.options = options;
    this.access = new BoardAccess(options.run, options.readers, options.accessTtlMs);
    this.views = new EntityViews({ onRead: options.onViewRead });
    this.fanOut = new FanOut(this.access, options.run, options.logger, this.views, options.onDelivered);
    this.stopVerifying = options.feed.onReconnect?.(() => void this.verifyTails()) ?? (() => undefined);
    this.streams = streamsOf(options.streamPrefix);
  }

  /** Registers a socket: its organisation's stream is followed so member changes close it. */
  async connect(connection: Connection): Promise<() => Promise<void>> {
    const { organizationId } = connection.caller.identity;
    let set = this.connections.get(organizationId);
    if (!set) this.connections.set(organizationId, (set = new Set()));
    set.add(connection);
    const ref = this.streams.org(organizationId);
    try {
      await this.acquire(ref);
    } catch (error) {
      // Refused (Redis away): undo the registration, or the use it counted would keep the
      // organisation's stream followed after the last socket left.
      set.delete(connection);
      if (set.size === 0) this.connections.delete(organizationId);
      await this.release(ref).catch(() => undefined);
      throw error;
    }
    return async () => {
      set.delete(connection);
      if (set.size === 0) {
        this.connections.delete(organizationId);
        // Its stream is no longer read: nothing would keep its views current.
        this.views.forgetOrganization(organizationId);
      }
      await this.release(ref);
    };
  }

  /**
   * Authorises a subscription and checks its cursor; the errors are the client's answer (FORBIDDEN,
   * CURSOR_EXPIRED, CURSOR_INVALID). On success `start` gives the stream of results.
   */
  async prepare(connection: Connection, target: SubscriptionTarget): Promise<{ ref: StreamRef; view: Subscriber["view"] } | readonly GraphQLError[]> {
    const { caller, correlationId } = connection;
    let ref: StreamRef;
    let view: Subscriber["view"];
    if (target.kind === "myNotifications") {
      ref = this.streams.org(caller.identity.organizationId);
      view = (event) => notificationOf(event, caller.identity);
    } else {
      const boardId =
        target.kind === "boardActivity"
          ? (await this.access.canRead(caller, target.boardId, correlationId))
            ? target.boardId
            : null
          : await this.access.boardOfItem(caller, target.itemId, correlationId);
      // One answer for "not yours" and "does not exist": ids of other organisations reveal nothing.
      if (!boardId) return [forbidden(target.kind === "boardActivity" ? "You cannot read this board" : "You cannot read this item")];
      ref = this.streams.board(caller.identity.organizationId, boardId);
      view = target.kind === "boardActivity" ? boardActivityOf : (event) => (itemIdOf(event) === target.itemId ? boardActivityOf(event) : null);
    }
    if (target.after !== undefined) {
      try {
        await this.options.feed.check(ref, target.after);
      } catch (error) {
        if (error instanceof CursorError) return [new GraphQLError(error.message, { extensions: { code: error.code } })];
        // The streams cannot be asked (Redis away): the adapter refuses this subscription, retryable.
        throw error;
      }
    }
    return { ref, view };
  }

  /** Follows the prepared stream for one subscriber, from `after` (catch-up first) or from now. */
  start(
    connection: Connection,
    prepared: { ref: StreamRef; view: Subscriber["view"] },
    payload: SubscriptionPayload,
    after?: string,
  ): Channel<ExecutionResult> {
    let subscriber: Subscriber | undefined;
    let tail: StreamTail<Subscriber> | undefined;
    const channel = new Channel<ExecutionResult>(
      () => {
        if (subscriber) tail?.subscribers.delete(subscriber);
        void this.release(prepared.ref);
      },
      10_000,
      () => ({
        errors: [new GraphQLError("Too many undelivered events; resume with the last cursor", { extensions: { code: SUBSCRIPTION_ERROR_CODES.slowConsumer } })],
      }),
    );
    void (async () => {
      tail = await this.acquire(prepared.ref);
      if (channel.closed) return;
      subscriber = { connection, payload, channel, view: prepared.view, position: after ?? tail.claimed, live: after === undefined };
      tail.subscribers.add(subscriber);
      if (after !== undefined) await this.catchUp(subscriber, tail);
    })().catch((error: unknown) => {
      this.options.logger.error({ err: error, correlationId: connection.correlationId }, "subscription failed to start");
      channel.failWith("The subscription could not be started; retry", SUBSCRIPTION_ERROR_CODES.unavailable);
    });
    return channel;
  }

  /** Waits until every followed stream is idle (tests, shutdown). */
  async settle(): Promise<void> {
    for (const tail of await Promise.all(this.tails.values())) await tail.idle();
  }

  async dispose(): Promise<void> {
    this.stopVerifying();
    const tails = await Promise.all(this.tails.values());
    this.tails.clear();
    await Promise.all(tails.map((tail) => tail.dispose()));
  }

  /**
   * After a Redis reconnect: subscribers of a stream that lost entries nobody read are told
   * CURSOR_EXPIRED (refetch, then subscribe again) instead of silently missing events. Each tail
   * checks in its own read round, before it reads the stream again (see StreamTail.unverified).
   */
  private async verifyTails(): Promise<void> {
    const tails = await Promise.allSettled(this.tails.values());
    for (const settled of tails) if (settled.status === "fulfilled") settled.value.reverify();
  }

  /** Reads what a resuming subscriber missed, up to where the tail took over, then makes it live. */
  private async catchUp(subscriber: Subscriber, tail: StreamTail<Subscriber>): Promise<void> {
    while (compareCursors(subscriber.position, tail.claimed) < 0 && !subscriber.channel.closed) {
      const page = await this.options.feed.read(tail.ref, subscriber.position, 200);
      if (page.length === 0) break;
      for (const entry of page) {
        if (compareCursors(entry.cursor, tail.claimed) > 0) break;
        const event = parseEntry(entry);
        if (event) await this.deliver(event, [subscriber], false);
        else subscriber.position = entry.cursor;
      }
    }
    // No await between the last check and this: the tail delivers everything after `claimed`.
    subscriber.live = true;
  }

  private async acquire(ref: StreamRef): Promise<StreamTail<Subscriber>> {
    this.uses.set(ref.key, (this.uses.get(ref.key) ?? 0) + 1);
    let tail = this.tails.get(ref.key);
    if (!tail) {
      const created = new StreamTail<Subscriber>(
        ref,
        this.options.feed,
        (event, self) => this.handle(event, self),
        (error) => this.options.logger.warn({ err: error, stream: ref.key }, "reading an event stream failed; retrying on the next wake-up"),
        () => {
          this.options.logger.warn({ stream: ref.key }, "events were lost with a Redis restart; subscribers must refetch");
          this.views.clear();
          for (const subscriber of created.subscribers) subscriber.channel.failWith("Events may have been lost; refetch and subscribe again", "CURSOR_EXPIRED");
        },
      );
      tail = created.start().then(() => created);
      this.tails.set(ref.key, tail);
      tail.catch(() => this.tails.delete(ref.key));
    }
    return tail;
  }

  private async release(ref: StreamRef): Promise<void> {
    const count = (this.uses.get(ref.key) ?? 1) - 1;
    if (count > 0) {
      this.uses.set(ref.key, count);
      return;
    }
    this.uses.delete(ref.key);
    const tail = this.tails.get(ref.key);
    this.tails.delete(ref.key);
    await (await tail)?.dispose();
  }

  /** One event of a followed stream: access changes first, then delivery to the live subscribers. */
  private async handle(event: StreamEvent, tail: StreamTail<Subscriber>): Promise<void> {
    this.applyAccessChange(event);
    // Both the organisation's and the board's stream carry a board event: the second application finds it done.
    this.views.apply(event, tail.ref.key === this.streams.org(event.event.metadata.organizationId).key);
    const candidates = [...tail.subscribers].filter((subscriber) => subscriber.live);
    if (candidates.length === 0) return;
    try {
      await this.deliver(event, candidates, true);
    } catch (error) {
      // The tail has moved past this event: whoever did not get it must resume to get it.
      this.options.logger.error({ err: error, eventId: event.event.eventId }, "delivering an event failed; its subscribers resume");
      for (const subscriber of candidates) if (!subscriber.channel.closed && subscriber.position === event.cursor) interrupt(subscriber);
    }
  }

  private applyAccessChange(event: StreamEvent): void {
    const change = accessChangeOf(event);
    if (!change) return;
    const { organizationId } = event.event.metadata;
    if (change.kind === "board") {
      this.access.forgetBoard(change.boardId);
      return;
    }
    this.access.forgetOrganization(organizationId);
    for (const connection of this.connections.get(organizationId) ?? []) {
      if (connection.caller.identity.userId === change.userId) {
        connection.close(
          CLOSE_CODES.forbidden,
          event.event.eventType === "member.removed" ? "Removed from the organization" : "Role changed; reconnect with a new token",
        );
      }
    }
  }

  /**
   * Delivers one event to those of `subscribers` that have not handled it yet and want it.
   * @param live read by the tail now, rather than caught up on: only then can the entity views serve it.
   */
  private async deliver(event: StreamEvent, subscribers: readonly Subscriber[], live: boolean): Promise<void> {
    const wanted: { subscriber: Subscriber; source: EventSource }[] = [];
    // One view object per view (boardActivity's is shared by all its subscribers): fan-out groups by it.
    const views = new Map<Subscriber["view"], EventSource | null>();
    for (const subscriber of subscribers) {
      if (compareCursors(event.cursor, subscriber.position) <= 0) continue;
      subscriber.position = event.cursor;
      let source = views.get(subscriber.view);
      if (source === undefined) views.set(subscriber.view, (source = subscriber.view(event)));
      if (source) wanted.push({ subscriber, source });
    }
    if (wanted.length > 0) await this.fanOut.deliver(wanted, boardIdOf(event), event, live);
  }
}
