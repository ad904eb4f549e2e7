import { GraphQLError, type ExecutionResult, type FormattedExecutionResult } from "graphql";
import type { RunOperation } from "../execution/run-operation.ts";
import type { Logger } from "../../../subgraphs/shared/logger.ts";
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

export const forbidden = (message: string): GraphQLError =>
  new GraphQLError(message, { extensions: { code: SUBSCRIPTION_ERROR_CODES.forbidden } });

/**
 * One event to many subscribers: each must (still) be able to read the event's board; the
 * federated fetch of the selected entities runs once per distinct selection (and organisation and
 * role, or user for viewer-dependent selections), the shaping once per document, and the same
 * result object goes to every socket that asked for it.
 */
export class FanOut {
  constructor(
    private readonly access: BoardAccess,
    private readonly run: RunOperation,
    private readonly logger: Logger,
  ) {}

  async deliver(wanted: readonly { subscriber: Recipient; source: EventSource }[], boardId: string | null): Promise<void> {
    const allowed = await Promise.all(
      wanted.map(async (entry): Promise<boolean | "unknown"> => {
        if (!boardId) return true;
        const { caller, correlationId } = entry.subscriber.connection;
        try {
          return await this.access.canRead(caller, boardId, correlationId);
        } catch (error) {
          this.logger.warn({ err: error, correlationId }, "board access check failed");
          return "unknown";
        }
      }),
    );
    const fetches = new Map<string, Promise<FormattedExecutionResult | null>>();
    const shaped = new Map<string, Promise<ExecutionResult>>();
    await Promise.all(
      wanted.map(async ({ subscriber, source }, index) => {
        const verdict = allowed[index];
        if (verdict === "unknown") return interrupt(subscriber);
        if (!verdict) return refuse(subscriber);
        const { caller, correlationId } = subscriber.connection;
        const fetch = subscriber.payload.fetchFor(source.entities);
        const who = subscriber.payload.viewerDependent ? caller.principal : `${caller.identity.organizationId}/${caller.identity.role}`;
        const fetchKey = fetch ? `${who}\n${fetch.key}` : "";
        let resolved = fetches.get(fetchKey);
        if (!resolved) {
          resolved = fetch ? this.run({ query: fetch.query, variables: fetch.variables }, { caller, correlationId }) : Promise.resolve(null);
          fetches.set(fetchKey, resolved);
        }
        const shapeKey = `${fetchKey}\n${subscriber.payload.shapeKey}`;
        let result = shaped.get(shapeKey);
        if (!result) {
          result = resolved.then(
            (answer) => subscriber.payload.shape(source, answer as { data?: Record<string, unknown> | null } | null),
            (error: unknown) => {
              this.logger.error({ err: error, correlationId }, "resolving a subscription payload failed");
              return subscriber.payload.shape(source, {
                data: null,
                errors: [{ message: "The event's entities could not be resolved", extensions: { code: SUBSCRIPTION_ERROR_CODES.unavailable } }],
              });
            },
          );
          shaped.set(shapeKey, result);
        }
        subscriber.channel.push(await result);
      }),
    );
  }
}

/**
 * The reading right could not be checked (the projects subgraph is down): the event is neither
 * delivered nor skipped; the subscription ends with an error the client answers by resuming
 * with its last cursor, which redelivers from this event on.
 */
export function interrupt(subscriber: Recipient): void {
  subscriber.channel.push({
    errors: [new GraphQLError("Live delivery is interrupted; resume with the last cursor", { extensions: { code: SUBSCRIPTION_ERROR_CODES.unavailable } })],
  });
  subscriber.channel.finish();
}

/** A subscriber that can no longer read its board gets one FORBIDDEN and nothing more. */
function refuse(subscriber: Recipient): void {
  subscriber.channel.push({ errors: [forbidden("You can no longer read this board")] });
  subscriber.channel.finish();
}
