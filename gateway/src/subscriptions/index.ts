import type { Server } from "node:http";
import type { ApolloGateway } from "@apollo/gateway";
import { buildSchema, printSchema, type GraphQLSchema } from "graphql";
import type { EventFeed } from "../../../events/streams/feed.ts";
import type { Admit } from "../execution/admission.ts";
import type { RunOperation } from "../execution/run-operation.ts";
import type { GatewayMetrics } from "../observability/metrics.ts";
import type { OperationLimits } from "../limits/operation-limits.ts";
import type { Logger } from "../../../platform/logger.ts";
import { SubscriptionHub } from "./hub.ts";
import { BoardPresence } from "./presence.ts";
import type { PresenceStore } from "./presence-store.ts";
import { startSubscriptionServer } from "./ws-server.ts";
import type { BoardReaders } from "./access.ts";

export { MemoryEventStore } from "../../../events/streams/memory-store.ts";
export { redisFeed } from "../../../events/streams/redis-feed.ts";
export { memoryPresenceStore, redisPresenceStore, type PresenceStore } from "./presence-store.ts";
export { CLOSE_CODES, SUBSCRIPTION_ERROR_CODES } from "./protocol.ts";

/** Where live subscriptions read events and keep presence (GatewayOptions.subscriptions); the gateway disposes both when it stops. */
export interface SubscriptionsSetup {
  /** Redis Streams written by the bridge (`redisFeed`), or the embedded `MemoryEventStore`. */
  readonly feed: EventFeed;
  readonly presence: PresenceStore;
  /** The bridge's keyPrefix. @default "" */
  readonly streamPrefix?: string;
  /** How long a reading-right answer is reused at most (events invalidate it sooner). @default 30_000 */
  readonly accessTtlMs?: number;
  /** @default 10_000 */
  readonly presenceHeartbeatMs?: number;
  /** @default 30_000 */
  readonly presenceExpiryMs?: number;
}

export interface LiveSubscriptions {
  readonly hub: SubscriptionHub;
  /** Open sockets. */
  sockets(): number;
  /** Closes every socket (1001: reconnect and resume) and stops following streams. */
  dispose(): Promise<void>;
}

/**
 * The public API schema of whatever supergraph the gateway serves now (hot reload swaps it), as a
 * copy of our own: Apollo Server instruments the gateway's schema object in place (it wraps every
 * field's resolver for its plugins), and payload shaping needs fields that keep our resolver.
 */
export function trackApiSchema(gateway: ApolloGateway): () => GraphQLSchema | undefined {
  let schema: GraphQLSchema | undefined;
  gateway.onSchemaLoadOrUpdate(({ apiSchema }) => {
    schema = buildSchema(printSchema(apiSchema));
  });
  return () => schema;
}

/** graphql-ws on the gateway's server, fed by the event streams, with presence. */
export function startSubscriptions(
  options: SubscriptionsSetup & {
    readonly httpServer: Server;
    readonly schema: () => GraphQLSchema | undefined;
    readonly admit: Admit;
    readonly run: RunOperation;
    readonly metrics: GatewayMetrics;
    readonly logger: Logger;
    readonly limits: OperationLimits;
    readonly readers: BoardReaders;
  },
): LiveSubscriptions {
  const hub = new SubscriptionHub({
    feed: options.feed,
    run: options.run,
    logger: options.logger,
    streamPrefix: options.streamPrefix,
    accessTtlMs: options.accessTtlMs,
    readers: options.readers,
    onViewRead: (result) => options.metrics.subscriptionViewReads.inc({ result }),
    onDelivered: (occurredAt) => {
      const age = Date.now() - Date.parse(occurredAt);
      if (Number.isFinite(age)) options.metrics.subscriptionEventLatency.observe(Math.max(0, age) / 1000);
    },
  });
  const presence = new BoardPresence({
    store: options.presence,
    fanOut: hub.fanOut,
    logger: options.logger,
    heartbeatMs: options.presenceHeartbeatMs,
    expiryMs: options.presenceExpiryMs,
  });
  const server = startSubscriptionServer({ ...options, hub, presence });
  return {
    hub,
    sockets: server.sockets,
    async dispose() {
      await server.dispose();
      await presence.dispose();
      await hub.dispose();
      await options.feed.dispose();
      await options.presence.dispose();
    },
  };
}
