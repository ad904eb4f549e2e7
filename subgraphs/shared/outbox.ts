import { randomUUID } from "node:crypto";
import type { Tx } from "../../platform/db.ts";
import type { Identity } from "../../platform/identity.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { topicFor, type DomainEvent } from "../../events/contracts/envelope.ts";

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
}

/** Writes one outbox row; call it inside the transaction that makes the change. */
export async function recordEvent<TData extends Prisma.InputJsonObject>(tx: Tx, origin: EventSource, input: EventInput<TData>): Promise<DomainEvent<TData>> {
  const event: DomainEvent<TData> = {
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
    },
  };
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
    },
  });
  return event;
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
