import { GraphQLError, type ExecutionResult, type FormattedExecutionResult } from "graphql";
import type { RunOperation } from "../execution/run-operation.ts";
import type { Logger } from "../../../platform/logger.ts";
import type { BoardAccess } from "./access.ts";
import type { Channel } from "./channel.ts";
import type { Connection } from "./hub.ts";
import type { EventSource, SubscriptionPayload } from "./payload.ts";
import { SUBSCRIPTION_ERROR_CODES } from "./protocol.ts";

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

  constructor(access: BoardAccess, run: RunOperation, logger: Logger) {
    this.access = access;
    this.run = run;
    this.logger = logger;
  }

  async deliver(wanted: readonly { subscriber: Recipient; source: EventSource }[], boardId: string | null): Promise<void> {
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
        else groups.set(key, { who, source, payload: subscriber.payload, recipients: [subscriber] });
      }
    }

    // The federated fetch once per distinct query (and who asks), shared by groups that need it.
    const fetches = new Map<string, Promise<FormattedExecutionResult | null>>();
    await Promise.all(
      [...groups.values()].map(async (group) => {
        const [first] = group.recipients as [Recipient];
        const { caller, correlationId } = first.connection;
        const fetch = group.payload.fetchFor(group.source.entities);
        let resolved: Promise<FormattedExecutionResult | null> = Promise.resolve(null);
        if (fetch) {
          const fetchKey = `${group.who}\n${fetch.key}`;
          resolved = fetches.get(fetchKey) ?? this.run({ query: fetch.query, variables: fetch.variables }, { caller, correlationId });
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
        for (const recipient of group.recipients) recipient.channel.push(result);
      }),
    );
  }
}

interface Group {
  readonly who: string;
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
