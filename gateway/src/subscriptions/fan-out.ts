import { GraphQLError, type ExecutionResult, type FormattedExecutionResult } from "graphql";
import type { RunOperation } from "../execution/run-operation.ts";
import type { Logger } from "../../../platform/logger.ts";
import type { BoardAccess } from "./access.ts";
import type { Channel } from "./channel.ts";
import type { EntityViews, ViewPlan } from "./entity-views.ts";
import { itemIdOf, type StreamEvent } from "./events.ts";
import type { Connection } from "./hub.ts";
import type { EventSource, PayloadFetch, SubscriptionPayload } from "./payload.ts";
import { SUBSCRIPTION_ERROR_CODES } from "./protocol.ts";
import { contextFromTraceparent, inSpan, SpanKind } from "../../../platform/tracing.ts";

/** A subscription as fan-out sees it: who, what selection, where results go. */
export interface Recipient {
  readonly connection: Connection;
  readonly payload: SubscriptionPayload;
  readonly channel: Channel<ExecutionResult>;
}

export const forbidden = (message: string): GraphQLError => new GraphQLError(message, { extensions: { code: SUBSCRIPTION_ERROR_CODES.forbidden } });

/**
 * One event to many subscribers: each must (still) be able to read the event's board; the
 * federated fetch of the selected entities runs once per group of subscribers whose answers are
 * provably identical, the shaping once per document, and the same result object goes to every
 * socket of the group.
 *
 * The rule: a subscriber never receives a value that the same selection, run as a query by that
 * subscriber at that moment, would not return. So answers are shared only
 * - between the sockets of one principal (user or API key): they would run the very same query;
 * - or per board, when the selection reads only caller-independent fields (`sharing.ts`) of
 *   entities every reader of the board may read, among subscribers who passed this event's board
 *   check. Notifications are personal and never shared beyond their principal.
 * Never per organisation or role: two MEMBERs differ in the private boards shared with them.
 */
export class FanOut {
  private readonly access: BoardAccess;
  private readonly run: RunOperation;
  private readonly logger: Logger;
  private readonly views: EntityViews;
  private readonly onDelivered?: (occurredAt: string) => void;

  constructor(access: BoardAccess, run: RunOperation, logger: Logger, views: EntityViews, onDelivered?: (occurredAt: string) => void) {
    this.access = access;
    this.run = run;
    this.logger = logger;
    this.views = views;
    this.onDelivered = onDelivered;
  }

  /**
   * @param event the stream event delivered (none for presence): each socket group's delivery is a
   *   span of its change's trace, caught up on or not.
   * @param live read by a tail now, not caught up on: only then are board-shared answers read from,
   *   and kept in, the entity views, and the event-to-socket latency counted.
   */
  async deliver(
    wanted: readonly { subscriber: Recipient; source: EventSource }[],
    boardId: string | null,
    event?: StreamEvent,
    live = event !== undefined,
  ): Promise<void> {
    const liveEvent = live ? event : undefined;
    // Reading rights: one (cached) answer per caller, however many sockets it has.
    const verdicts = new Map<string, Promise<boolean | "unknown">>();
    for (const { subscriber, source } of wanted) {
      const { caller, correlationId } = subscriber.connection;
      if (verdicts.has(caller.principal) || boardId === null || source.unreadable === "deliver") continue;
      verdicts.set(
        caller.principal,
        this.access.canRead(caller, boardId, correlationId).catch((error: unknown) => {
          this.logger.warn({ err: error, correlationId }, "board access check failed");
          return "unknown" as const;
        }),
      );
    }
    const answers = new Map<string, boolean | "unknown">();
    await Promise.all([...verdicts].map(async ([principal, verdict]) => answers.set(principal, await verdict)));

    // Groups that get one result: the same event view, compiled subscription and answer to "who asks".
    const groups = new Map<string, Group>();
    const views = new Map<EventSource, number>();
    for (const { subscriber, source } of wanted) {
      const { caller } = subscriber.connection;
      const verdict = boardId === null || source.unreadable === "deliver" ? true : answers.get(caller.principal);
      if (verdict === "unknown") interrupt(subscriber);
      else if (!verdict) {
        if (source.unreadable !== "skip") refuse(subscriber);
      } else {
        const perBoard = boardId !== null && !source.personal && subscriber.payload.sharing === "board";
        const who = perBoard ? `board:${caller.identity.organizationId}:${boardId}` : caller.principal;
        let view = views.get(source);
        if (view === undefined) views.set(source, (view = views.size));
        const key = `${view}\n${who}\n${subscriber.payload.shapeKey}`;
        const group = groups.get(key);
        if (group) group.recipients.push(subscriber);
        else groups.set(key, { who, perBoard, source, payload: subscriber.payload, recipients: [subscriber] });
      }
    }

    // The federated fetch once per distinct query (and who asks), shared by groups that need it.
    const fetches = new Map<string, Promise<FormattedExecutionResult | null>>();
    // Each socket group's delivery (and the fetch it makes) is a span of the change's trace.
    const traced = <T>(group: { recipients: readonly Recipient[] }, work: () => Promise<T>) =>
      event?.traceparent
        ? inSpan(
            "gateway",
            "subscription deliver",
            {
              kind: SpanKind.CONSUMER,
              parent: contextFromTraceparent(event.traceparent),
              attributes: { "sunday.event_id": event.event.eventId, "sunday.sockets": group.recipients.length },
            },
            work,
          )
        : work();
    await Promise.all(
      [...groups.values()].map((group) =>
        traced(group, async () => {
          const [first] = group.recipients as [Recipient];
          const { caller, correlationId } = first.connection;
          const fetch = group.payload.fetchFor(group.source.entities);
          let resolved: Promise<FormattedExecutionResult | null> = Promise.resolve(null);
          if (fetch) {
            const fetchKey = `${group.who}\n${fetch.key}`;
            resolved =
              fetches.get(fetchKey) ??
              (group.perBoard && group.payload.view && liveEvent && boardId
                ? this.viewed(fetchKey, fetch, group.payload.view, liveEvent, boardId, first.connection)
                : this.run({ query: fetch.query, variables: fetch.variables }, { caller, correlationId }));
            fetches.set(fetchKey, resolved);
          }
          let result: ExecutionResult;
          try {
            result = group.payload.shape(group.source, (await resolved) as { data?: Record<string, unknown> | null } | null);
          } catch (error) {
            this.logger.error({ err: error, correlationId }, "resolving a subscription payload failed");
            result = group.payload.shape(group.source, {
              data: null,
              errors: [{ message: "The event's entities could not be resolved", extensions: { code: SUBSCRIPTION_ERROR_CODES.unavailable } }],
            });
          }
          for (const recipient of group.recipients) {
            recipient.channel.push(result);
            if (liveEvent) this.onDelivered?.(liveEvent.event.metadata.timestamp);
          }
        }),
      ),
    );
  }

  /** A board-shared answer from the entity views, or fetched and kept there. */
  private async viewed(
    key: string,
    fetch: PayloadFetch,
    plan: ViewPlan,
    event: StreamEvent,
    boardId: string,
    { caller, correlationId }: Connection,
  ): Promise<FormattedExecutionResult> {
    const kept = await this.views.read(key, event);
    if (kept) return { data: kept };
    const { organizationId } = caller.identity;
    const epoch = this.views.epoch(organizationId);
    const result = await this.run({ query: fetch.query, variables: fetch.variables }, { caller, correlationId });
    if (result.data && !result.errors?.length) {
      this.views.keep(key, epoch, { organizationId, boardId, itemId: plan.itemKey === null ? null : itemIdOf(event), plan, data: result.data });
    }
    return result;
  }
}

interface Group {
  readonly who: string;
  /** `who` is the board: the answer is the same for every reader of it (sharing.ts). */
  readonly perBoard: boolean;
  readonly source: EventSource;
  readonly payload: SubscriptionPayload;
  readonly recipients: Recipient[];
}

/**
 * The reading right could not be checked (the projects subgraph is down): the event is neither
 * delivered nor skipped; the subscription ends with an error the client answers by resuming
 * with its last cursor, which redelivers from this event on.
 */
export function interrupt(subscriber: Recipient): void {
  subscriber.channel.failWith("Live delivery is interrupted; resume with the last cursor", SUBSCRIPTION_ERROR_CODES.unavailable);
}

/** A subscriber that can no longer read its board gets one FORBIDDEN and nothing more. */
function refuse(subscriber: Recipient): void {
  subscriber.channel.failWith("You can no longer read this board", SUBSCRIPTION_ERROR_CODES.forbidden);
}
