/**
 * The domain event envelope (ARCHITECTURE.md, "Product rules") and the topics it travels on: the
 * TypeScript type the outbox writes (`subgraphs/shared/outbox.ts`) and every consumer reads, and
 * the JSON Schema that every event read from the outbox or Kafka must match before its `data` is
 * checked against the schema of its (eventType, schemaVersion). Nothing here loads Prisma: the
 * relay and the bridge name topics without the generated client.
 */
import { SURFACES, type Surface } from "../../platform/identity.ts";
import type { Schema } from "./schema-kit.ts";

/** The domain event envelope, as written to the outbox and published. */
export interface DomainEvent<TData extends object = Readonly<Record<string, unknown>>> {
  eventId: string;
  eventType: string;
  schemaVersion: number;
  aggregateId: string;
  aggregateType: string;
  version: number;
  data: TData;
  metadata: {
    correlationId: string;
    causationId?: string;
    userId?: string;
    organizationId: string;
    timestamp: string;
    source: string;
    /** How the change reached us (absent on events from before it was recorded). */
    surface?: Surface;
    /** The API key the caller used, when one was. */
    apiKeyId?: string;
  };
}

/** Every topic domain events travel on, by event family. */
export const TOPICS = ["user-events", "project-events", "item-events", "collaboration-events", "general-events"] as const;
export type Topic = (typeof TOPICS)[number];

/** Routing by event family; key = aggregateId keeps each aggregate's events in order on one partition. */
export function topicFor(eventType: string): Topic {
  if (eventType.startsWith("user.") || eventType.startsWith("member.")) return "user-events";
  if (eventType.startsWith("project.item.")) return "item-events";
  if (eventType.startsWith("project.")) return "project-events";
  if (eventType.startsWith("comment.") || eventType.startsWith("presence.")) return "collaboration-events";
  return "general-events";
}

/** `a.b_c.d`: lower-case dotted segments, the rule the integrations subgraph applies to webhook subscriptions. */
export const EVENT_TYPE_PATTERN = "^[a-z_]+(\\.[a-z_]+)*$";

/** The gateway's correlation id rule (`gateway/src/observability/correlation.ts`), minimum relaxed to 1. */
export const CORRELATION_ID_PATTERN = "^[A-Za-z0-9._:-]{1,128}$";

export const ENVELOPE_SCHEMA_ID = "urn:sunday:events:envelope";

/** JSON Schema (draft 2020-12) of the envelope; `data` is only required to be an object here. */
export const envelopeSchema: Schema = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: ENVELOPE_SCHEMA_ID,
  title: "Domain event envelope",
  type: "object",
  additionalProperties: false,
  required: ["eventId", "eventType", "schemaVersion", "aggregateId", "aggregateType", "version", "data", "metadata"],
  properties: {
    eventId: { type: "string", format: "uuid" },
    eventType: { type: "string", maxLength: 100, pattern: EVENT_TYPE_PATTERN },
    schemaVersion: { type: "integer", minimum: 1 },
    aggregateId: { type: "string", format: "uuid" },
    aggregateType: { type: "string", minLength: 1, maxLength: 100, pattern: "^[A-Z][A-Za-z]*$" },
    /** The aggregate's version after the change; 0 for events that change no aggregate (presence). */
    version: { type: "integer", minimum: 0 },
    data: { type: "object" },
    metadata: {
      type: "object",
      additionalProperties: false,
      required: ["correlationId", "organizationId", "timestamp", "source"],
      properties: {
        correlationId: { type: "string", pattern: CORRELATION_ID_PATTERN },
        /** The event id (or request id) that caused this one. */
        causationId: { type: "string", minLength: 1, maxLength: 128 },
        userId: { type: "string", format: "uuid" },
        organizationId: { type: "string", format: "uuid" },
        timestamp: { type: "string", format: "date-time" },
        /** The process that made the change: `users`, `projects`, `items`, `integrations`, `gateway`, … */
        source: { type: "string", minLength: 1, maxLength: 100, pattern: "^[a-z][a-z0-9-]*$" },
        surface: { enum: [...SURFACES] },
        apiKeyId: { type: "string", format: "uuid" },
      },
    },
  },
};
