import { randomUUID } from "node:crypto";
import type { Tx } from "../../platform/db.ts";
import type { Channel, Identity } from "../../platform/identity.ts";
import { requireIdentity } from "./authorization.ts";
import type { BaseContext } from "./context.ts";
import type { SubgraphName } from "./server.ts";
import { Prisma } from "../../generated/prisma/client.ts";
import { topicFor, type DomainEvent } from "../../events/contracts/envelope.ts";
import { currentTraceparent } from "../../platform/tracing.ts";

export interface EventInput<TData extends Prisma.InputJsonObject> {
  eventType: string;
  aggregateType: string;
  aggregateId: string;
  /** The aggregate's version after the change. */
  version: number;
  data: TData;
  schemaVersion?: number;
  causationId?: string;
}

export interface EventSource {
  /**
   * Who made the change: a caller, or (the integrations runtime acting on its own) only the
   * organisation, and the envelope then has no `userId`.
   */
  readonly identity: Identity | { readonly organizationId: string; readonly userId?: undefined };
  readonly correlationId: string;
  /** The subgraph that made the change. */
  readonly source: string;
  /** Through which surface (and API key) the change came; recorded in the envelope's metadata. */
  readonly channel?: Channel | null;
}

/** The origin of the changes a subgraph request makes: its caller, correlation id and surface. */
export function requestOrigin(context: BaseContext, source: SubgraphName): EventSource {
  return { identity: requireIdentity(context.identity), correlationId: context.correlationId, source, channel: context.channel };
}

/** The envelope of one event, as the outbox stores it and the relay publishes it. */
export function envelopeOf<TData extends Prisma.InputJsonObject>(origin: EventSource, input: EventInput<TData>): DomainEvent<TData> {
  return {
    eventId: randomUUID(),
    eventType: input.eventType,
    schemaVersion: input.schemaVersion ?? 1,
    aggregateId: input.aggregateId,
    aggregateType: input.aggregateType,
    version: input.version,
    data: input.data,
    metadata: {
      correlationId: origin.correlationId,
      ...(input.causationId === undefined ? {} : { causationId: input.causationId }),
      ...(origin.identity.userId === undefined ? {} : { userId: origin.identity.userId }),
      organizationId: origin.identity.organizationId,
      timestamp: new Date().toISOString(),
      source: origin.source,
      ...(origin.channel ? { surface: origin.channel.surface } : {}),
      ...(origin.channel?.apiKeyId ? { apiKeyId: origin.channel.apiKeyId } : {}),
    },
  };
}

/** Writes one outbox row; call it inside the transaction that makes the change. */
export async function recordEvent<TData extends Prisma.InputJsonObject>(tx: Tx, origin: EventSource, input: EventInput<TData>): Promise<DomainEvent<TData>> {
  const event = envelopeOf(origin, input);
  await tx.outboxEvent.create({
    data: {
      id: event.eventId,
      organizationId: event.metadata.organizationId,
      topic: topicFor(event.eventType),
      eventType: event.eventType,
      schemaVersion: event.schemaVersion,
      aggregateType: event.aggregateType,
      aggregateId: event.aggregateId,
      aggregateVersion: event.version,
      envelope: event as unknown as Prisma.InputJsonObject,
      traceparent: currentTraceparent(),
    },
  });
  return event;
}

/**
 * `recordEvent` as SQL for a data-modifying CTE: the outbox row, inserted once per row of the CTE
 * `source` (one when the change it reports was made, none when it was not).
 */
export function outboxInsertSql(event: DomainEvent, source: string): Prisma.Sql {
  return Prisma.sql`INSERT INTO events."OutboxEvent" ("id", "organizationId", "topic", "eventType", "schemaVersion", "aggregateType", "aggregateId", "aggregateVersion", "envelope", "traceparent")
    SELECT CAST(${event.eventId} AS uuid), CAST(${event.metadata.organizationId} AS uuid), ${topicFor(event.eventType)}, ${event.eventType}, ${event.schemaVersion},
      ${event.aggregateType}, CAST(${event.aggregateId} AS uuid), ${event.version}, CAST(${JSON.stringify(event)} AS jsonb), ${currentTraceparent()}
    FROM ${Prisma.raw(source)}`;
}

/** A `{ from, to }` change entry, present only when the value really changed. */
export function change<T extends Prisma.InputJsonValue | null>(from: T, to: T | undefined): { from: T; to: T } | undefined {
  if (to === undefined || JSON.stringify(from) === JSON.stringify(to)) return undefined;
  return { from, to };
}

/** Drops undefined entries so `changes` lists only what changed. */
export function compact(record: Record<string, Prisma.InputJsonValue | undefined>): Prisma.InputJsonObject {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as Prisma.InputJsonObject;
}
