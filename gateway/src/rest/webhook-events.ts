/**
 * The OpenAPI 3.1 `webhooks` section: what Sunday POSTs to a registered webhook, one entry per
 * event type a webhook can receive. Bodies are the delivery envelope with `data` from the event
 * contracts (events/contracts/catalog.ts), every published schema version of a type as one of its
 * forms; the headers are those of the Standard Webhooks specification, which the integrations
 * runtime signs (subgraphs/integrations/runtime/webhooks/signature.ts; test/webhook-api.test.ts
 * checks the two agree, since the gateway may not import a subgraph).
 */
import { CONTRACTS, type EventContract } from "../../../events/contracts/catalog.ts";
import type { JsonSchema } from "./json-schema.ts";

/** Sent by `testWebhook`: no domain event, so it has no contract of its own; this is its schema. */
export const TEST_EVENT_TYPE = "webhook.test";

const TEST_EVENT_CONTRACT: EventContract = {
  eventType: TEST_EVENT_TYPE,
  schemaVersion: 1,
  aggregateType: "Webhook",
  producer: "integrations",
  description: "A test delivery, sent on request (testWebhook, POST /webhooks/{id}/test) to check that the endpoint receives and verifies deliveries.",
  data: {
    type: "object",
    additionalProperties: false,
    required: ["webhookId", "message"],
    properties: { webhookId: { type: "string", format: "uuid" }, message: { type: "string" } },
  },
};

/**
 * The contracts a webhook can receive: every catalogued one but the gateway's own (presence), which
 * never reaches the outbox (the integrations subgraph's DELIVERABLE_EVENT_TYPES), and the test event.
 */
export function deliverableContracts(): EventContract[] {
  return [...CONTRACTS.filter((contract) => contract.producer !== "gateway"), TEST_EVENT_CONTRACT];
}

/** Headers of every delivery, as component parameters. */
export const WEBHOOK_HEADER_PARAMETERS: Readonly<Record<string, JsonSchema>> = {
  WebhookId: {
    name: "webhook-id",
    in: "header",
    required: true,
    description: "The event's id (the body's `id`): the same on every attempt of a delivery, so receivers can de-duplicate on it.",
    schema: { type: "string", format: "uuid" },
  },
  WebhookTimestamp: {
    name: "webhook-timestamp",
    in: "header",
    required: true,
    description: "Unix time in seconds of this attempt (signed): refuse requests more than a few minutes old or ahead.",
    schema: { type: "string", pattern: "^[0-9]+$" },
  },
  WebhookSignature: {
    name: "webhook-signature",
    in: "header",
    required: true,
    description:
      "Standard Webhooks signatures, space-separated: `v1,` and the base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` keyed with the base64-decoded part of the `whsec_` secret after the prefix. One per active secret: after a rotation, the previous secret signs too for 24 hours. Accept the request when any one verifies.",
    schema: { type: "string", pattern: "^v1,[A-Za-z0-9+/]+={0,2}( v1,[A-Za-z0-9+/]+={0,2})*$" },
  },
};

const EVENT_TYPE_HEADER = "x-sunday-event-type";

/** `project.item.created` -> `ProjectItemCreated`. */
function pascal(eventType: string): string {
  return eventType
    .split(/[._]/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");
}

/** The component name of one version of an event's delivery body. */
export function eventComponentName(eventType: string, schemaVersion: number): string {
  return `${pascal(eventType)}EventV${schemaVersion}`;
}

/** The delivery body of one (eventType, schemaVersion): the envelope queue.ts `webhookPayload` builds. */
function envelopeSchema(contract: EventContract): JsonSchema {
  const uuid = { type: "string", format: "uuid" };
  return {
    type: "object",
    description: `${contract.eventType} v${contract.schemaVersion}: ${contract.description}`,
    properties: {
      id: { ...uuid, description: "The event's id, also sent as `webhook-id`." },
      type: { type: "string", const: contract.eventType },
      schemaVersion: { type: "integer", const: contract.schemaVersion },
      occurredAt: { type: "string", format: "date-time", description: "When the event happened." },
      organizationId: uuid,
      boardId: { type: ["string", "null"], format: "uuid", description: "The board the event concerns; null for an organization-wide one." },
      data: contract.data,
    },
    required: ["id", "type", "schemaVersion", "occurredAt", "organizationId", "boardId", "data"],
    additionalProperties: false,
  };
}

const RESPONSES = {
  "2XX": { description: "Delivered. Answer within 10 seconds, and do any slow work after answering." },
  "410": { description: "Gone: the webhook is disabled at once, and nothing more is sent to it." },
  "429": { description: "Retried later, no sooner than `Retry-After` asks (up to the schedule's longest delay)." },
  "5XX": {
    description:
      "Retried later, by default after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, 15 h, 15 h and 15 h (±20 %): about 3 days in all, then the delivery has failed.",
  },
  default: {
    description:
      "Any other answer (3xx included: redirects are not followed) fails the delivery at once. No answer within 10 seconds, and 408, are retried like a 5xx. Only the first 64 KB of an answer are read.",
  },
};

export interface WebhookDocumentation {
  /** The document's top-level `webhooks`: one path item per event type. */
  readonly webhooks: Record<string, unknown>;
  /** Component schemas: one per (eventType, schemaVersion). */
  readonly schemas: Record<string, JsonSchema>;
  readonly parameters: Readonly<Record<string, JsonSchema>>;
}

export function webhookDocumentation(): WebhookDocumentation {
  const byType = new Map<string, EventContract[]>();
  for (const contract of deliverableContracts()) byType.set(contract.eventType, [...(byType.get(contract.eventType) ?? []), contract]);
  const schemas: Record<string, JsonSchema> = {};
  const webhooks: Record<string, unknown> = {};
  for (const [eventType, versions] of [...byType].sort(([a], [b]) => a.localeCompare(b))) {
    versions.sort((a, b) => a.schemaVersion - b.schemaVersion);
    const refs = versions.map((contract) => {
      const name = eventComponentName(eventType, contract.schemaVersion);
      schemas[name] = envelopeSchema(contract);
      return { $ref: `#/components/schemas/${name}` };
    });
    const first = versions[0] as EventContract;
    webhooks[eventType] = {
      post: {
        operationId: `${eventType.replace(/[._](.)/g, (_whole, next: string) => next.toUpperCase())}Webhook`,
        summary: first.description,
        description: [
          `Sent to the webhooks that subscribe to \`${eventType}\` (or a wildcard covering it).`,
          versions.length > 1
            ? `Published in schema versions ${versions.map((contract) => contract.schemaVersion).join(", ")}: \`schemaVersion\` tells which.`
            : "",
        ]
          .filter(Boolean)
          .join(" "),
        tags: ["Webhook events"],
        security: [],
        parameters: [
          { $ref: "#/components/parameters/WebhookId" },
          { $ref: "#/components/parameters/WebhookTimestamp" },
          { $ref: "#/components/parameters/WebhookSignature" },
          {
            name: EVENT_TYPE_HEADER,
            in: "header",
            required: true,
            description: "The event type, to route or drop a request before parsing it. Not signed: the body's `type` is authoritative.",
            schema: { type: "string", const: eventType },
          },
        ],
        requestBody: {
          required: true,
          content: { "application/json": { schema: refs.length === 1 ? refs[0] : { oneOf: refs } } },
        },
        responses: RESPONSES,
      },
    };
  }
  return { webhooks, schemas, parameters: WEBHOOK_HEADER_PARAMETERS };
}
