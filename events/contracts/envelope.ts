/**
 * The domain event envelope (ARCHITECTURE.md, "Product rules"): the TypeScript type is the one the
 * outbox writes (`subgraphs/shared/outbox.ts`), re-exported so producers and consumers share one
 * definition; the JSON Schema below is what every event read from the outbox or Kafka must match
 * before its `data` is checked against the schema of its (eventType, schemaVersion).
 */
import type { Schema } from "./schema-kit.ts";

export type { DomainEvent, Topic } from "../../subgraphs/shared/outbox.ts";

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
      },
    },
  },
};
