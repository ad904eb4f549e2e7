// A domain event for the webhook suites, built in memory (the queue and dispatcher tests need an
// envelope, not a mutation that writes one).
import { randomUUID } from "node:crypto";
import type { DomainEvent } from "../../events/contracts/envelope.ts";

export interface EventShape {
  readonly eventType?: string;
  readonly aggregateType?: string;
  readonly data?: Record<string, unknown>;
  readonly source?: string;
  readonly userId?: string;
  /** @default now */
  readonly timestamp?: string;
}

/** An event of `organizationId`: `project.item.created` of a new item unless `shape` says otherwise. */
export function domainEvent(organizationId: string, shape: EventShape = {}): DomainEvent {
  return {
    eventId: randomUUID(),
    eventType: shape.eventType ?? "project.item.created",
    schemaVersion: 1,
    aggregateId: randomUUID(),
    aggregateType: shape.aggregateType ?? "Item",
    version: 1,
    data: shape.data ?? {},
    metadata: {
      correlationId: "test",
      ...(shape.userId === undefined ? {} : { userId: shape.userId }),
      organizationId,
      timestamp: shape.timestamp ?? new Date().toISOString(),
      source: shape.source ?? "items",
    },
  };
}
