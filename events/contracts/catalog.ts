/**
 * Every domain event contract: one entry per (eventType, schemaVersion). The `data` schemas mirror
 * the `recordEvent(...)` calls in subgraphs/<name>/src/resolvers.ts (and, for presence, what the
 * gateway's subscription layer publishes). Objects are closed (`additionalProperties: false`): a
 * producer that adds a field must add it here too, which `test/event-contracts.test.ts` enforces.
 *
 * Versioning: a change consumers cannot absorb (a removed or renamed field, a new required field,
 * a changed type) is a new schemaVersion with its own entry; the old entry stays while anything
 * may still emit or replay it. Adding an optional field to a version is compatible.
 */
import {
  BOARD_KINDS,
  BOARD_PERMISSIONS,
  COLUMN_TYPES,
  INTEGRATION_TYPES,
  MEMBERSHIP_ROLES,
  change,
  changes,
  enumOf,
  jsonObject,
  jsonValue,
  nullableJsonValue,
  nullableUuid,
  object,
  optionalText,
  position,
  text,
  uuid,
  uuidList,
  type Schema,
} from "./schema-kit.ts";

/**
 * What a webhook subscribes to: an event type, or a prefix wildcard (`project.item.*`). The
 * integrations subgraph also checks that each one names or matches a type of this catalogue.
 */
export const EVENT_FILTER_PATTERN = "^[a-z_]+(\\.[a-z_]+)*(\\.\\*)?$";

export type Producer = "users" | "projects" | "items" | "integrations" | "gateway";

export interface EventContract {
  readonly eventType: string;
  readonly schemaVersion: number;
  /** The envelope's `aggregateType` for this event. */
  readonly aggregateType: string;
  /** The process that emits it (the envelope's `metadata.source`). */
  readonly producer: Producer;
  readonly description: string;
  /** JSON Schema (draft 2020-12) of `data`. */
  readonly data: Schema;
}

function contract(eventType: string, schemaVersion: number, aggregateType: string, producer: Producer, description: string, data: Schema): EventContract {
  return { eventType, schemaVersion, aggregateType, producer, description, data };
}

const role = enumOf(...MEMBERSHIP_ROLES);
const columnType = enumOf(...COLUMN_TYPES);
const integrationType = enumOf(...INTEGRATION_TYPES);
const color: Schema = { type: "string", pattern: "^#[0-9a-fA-F]{6}$" };
const assigneesChange = object({ added: uuidList(), removed: uuidList() });
const placement = object({ groupId: uuid, position });
/** A status label (v1 `changes.status`); null when the item had or gets no status. */
const statusLabel = optionalText(200);

const itemUpdatedV1 = object({
  boardId: uuid,
  itemId: uuid,
  changes: changes({ name: change(text(500)), status: change(statusLabel), assignees: assigneesChange }),
});

/**
 * v2 (not emitted yet; shows how two versions live side by side): every column change travels in
 * `changes.columnValues` (always present, possibly empty), typed by its column, so the dedicated
 * `status` entry of v1 is gone (a status change is a STATUS column entry).
 */
const itemUpdatedV2 = object({
  boardId: uuid,
  itemId: uuid,
  changes: object(
    { columnValues: { type: "array", maxItems: 100, items: object({ columnId: uuid, columnType, from: nullableJsonValue, to: nullableJsonValue }) } },
    { name: change(text(500)), assignees: assigneesChange },
  ),
});

export const CONTRACTS: readonly EventContract[] = [
  // users subgraph
  contract(
    "user.created",
    1,
    "User",
    "users",
    "A user was created in an organisation (by an invitation).",
    object({ userId: uuid, email: text(320), name: text(200) }),
  ),
  contract(
    "user.updated",
    1,
    "User",
    "users",
    "A user changed their profile.",
    object({ userId: uuid, changes: changes({ name: change(text(200)), title: change(optionalText(200)), avatarUrl: change(optionalText(2048)) }) }),
  ),
  contract("member.added", 1, "Membership", "users", "A user became a member of the organisation.", object({ userId: uuid, role })),
  contract("member.removed", 1, "Membership", "users", "A member was removed from the organisation.", object({ userId: uuid, role })),
  contract("member.role_changed", 1, "Membership", "users", "A member's role changed.", object({ userId: uuid, changes: object({ role: change(role) }) })),
  contract(
    "api_key.created",
    1,
    "ApiKey",
    "users",
    "An API key was created (the secret is never in the event).",
    object({ apiKeyId: uuid, name: text(200), prefix: text(64), role }),
  ),
  contract("api_key.revoked", 1, "ApiKey", "users", "An API key was revoked.", object({ apiKeyId: uuid })),

  // projects subgraph
  contract("project.workspace.created", 1, "Workspace", "projects", "A workspace was created.", object({ workspaceId: uuid, name: text(200) })),
  contract(
    "project.created",
    1,
    "Board",
    "projects",
    "A board was created (with its description, when it was given one).",
    object({ boardId: uuid, workspaceId: uuid, name: text(200), kind: enumOf(...BOARD_KINDS), ownerId: uuid }, { description: optionalText(2000) }),
  ),
  contract(
    "project.updated",
    1,
    "Board",
    "projects",
    "A board's name, description or kind changed.",
    object({
      boardId: uuid,
      changes: changes({ name: change(text(200)), description: change(optionalText(2000)), kind: change(enumOf(...BOARD_KINDS)) }),
    }),
  ),
  contract("project.archived", 1, "Board", "projects", "A board was archived.", object({ boardId: uuid })),
  contract(
    "project.group.created",
    1,
    "Group",
    "projects",
    "A group was added to a board.",
    object({ boardId: uuid, groupId: uuid, name: text(200), color, position }),
  ),
  contract(
    "project.group.updated",
    1,
    "Group",
    "projects",
    "A group was renamed, recoloured or moved.",
    object({ boardId: uuid, groupId: uuid, changes: changes({ name: change(text(200)), color: change(color), position: change(position) }) }),
  ),
  contract("project.group.archived", 1, "Group", "projects", "A group was archived.", object({ boardId: uuid, groupId: uuid })),
  contract(
    "project.column.created",
    1,
    "Column",
    "projects",
    "A column was added to a board.",
    object({ boardId: uuid, columnId: uuid, title: text(200), type: columnType, settings: jsonObject, position }),
  ),
  contract(
    "project.column.updated",
    1,
    "Column",
    "projects",
    "A column was renamed, reconfigured or moved.",
    object({
      boardId: uuid,
      columnId: uuid,
      changes: changes({ title: change(text(200)), settings: change(jsonObject), position: change(position) }),
    }),
  ),
  contract("project.column.archived", 1, "Column", "projects", "A column was archived.", object({ boardId: uuid, columnId: uuid })),
  contract(
    "project.member.added",
    1,
    "Board",
    "projects",
    "A board was shared with a user (or their permission changed).",
    object({ boardId: uuid, userId: uuid, permission: enumOf(...BOARD_PERMISSIONS) }),
  ),
  contract("project.member.removed", 1, "Board", "projects", "A board was unshared from a user.", object({ boardId: uuid, userId: uuid })),

  // items subgraph
  contract(
    "project.item.created",
    1,
    "Item",
    "items",
    "An item was created, with its first assignees and column values.",
    object({
      boardId: uuid,
      groupId: uuid,
      itemId: uuid,
      name: text(500),
      position,
      assigneeIds: uuidList(),
      columnValues: { type: "array", maxItems: 100, items: object({ columnId: uuid, value: jsonValue }) },
    }),
  ),
  contract("project.item.updated", 1, "Item", "items", "An item was renamed, its status changed, or its assignees changed.", itemUpdatedV1),
  contract("project.item.updated", 2, "Item", "items", "An item changed; column changes travel as typed columnValues entries.", itemUpdatedV2),
  contract(
    "project.item.moved",
    1,
    "Item",
    "items",
    "An item moved within or between groups.",
    object({ boardId: uuid, itemId: uuid, from: placement, to: placement }),
  ),
  contract("project.item.deleted", 1, "Item", "items", "An item was deleted.", object({ boardId: uuid, groupId: uuid, itemId: uuid })),
  contract(
    "project.item.column_value.set",
    1,
    "Item",
    "items",
    "An item's value in one column was set or cleared (null).",
    object({ boardId: uuid, itemId: uuid, columnId: uuid, columnType, from: nullableJsonValue, to: nullableJsonValue }),
  ),
  contract(
    "project.item.subitem.created",
    1,
    "Item",
    "items",
    "A subitem was added under an item (the aggregate is the parent item).",
    object({ boardId: uuid, itemId: uuid, subitemId: uuid, name: text(500) }),
  ),
  contract(
    "comment.added",
    1,
    "Comment",
    "items",
    "A comment was posted on an item.",
    object({ boardId: uuid, itemId: uuid, commentId: uuid, authorId: uuid, body: text(10_000) }),
  ),

  // integrations subgraph
  contract(
    "integration.enabled",
    1,
    "Integration",
    "integrations",
    "An integration was enabled (for one board, or the whole organisation when boardId is null).",
    object({ integrationId: uuid, type: integrationType, boardId: nullableUuid }),
  ),
  contract(
    "integration.disabled",
    1,
    "Integration",
    "integrations",
    "An integration was disabled.",
    object({ integrationId: uuid, type: integrationType, boardId: nullableUuid }),
  ),
  contract(
    "webhook.created",
    1,
    "Webhook",
    "integrations",
    "An outgoing webhook was registered (the secret is never in the event).",
    object({
      webhookId: uuid,
      // Not `format: "uri"`: the subgraph stores WHATWG URL serialisations, which RFC 3986 may refuse (`|`).
      url: { type: "string", maxLength: 2048, pattern: "^https?://" },
      events: { type: "array", minItems: 1, maxItems: 50, uniqueItems: true, items: { type: "string", maxLength: 100, pattern: EVENT_FILTER_PATTERN } },
      boardId: nullableUuid,
    }),
  ),
  contract("webhook.enabled", 1, "Webhook", "integrations", "A webhook was switched on.", object({ webhookId: uuid })),
  contract("webhook.disabled", 1, "Webhook", "integrations", "A webhook was switched off.", object({ webhookId: uuid })),
  contract("webhook.deleted", 1, "Webhook", "integrations", "A webhook was deleted.", object({ webhookId: uuid })),
  contract("webhook.secret_rotated", 1, "Webhook", "integrations", "A webhook's signing secret was rotated.", object({ webhookId: uuid })),
  // Written by the integrations runtime (webhooks/queue.ts), not a request: the envelope has no userId.
  contract(
    "integration.webhook.disabled",
    1,
    "Webhook",
    "integrations",
    "The webhook runtime switched a webhook off: its endpoint answered 410 Gone, or its deliveries kept failing.",
    object({ webhookId: uuid, reason: text(500), consecutiveFailures: { type: "integer", minimum: 1 } }),
  ),

  // gateway subscription layer (not written to the outbox; version 0: no aggregate changes)
  contract("presence.joined", 1, "Board", "gateway", "A user started viewing a board.", object({ boardId: uuid, userId: uuid })),
  contract("presence.left", 1, "Board", "gateway", "A user stopped viewing a board.", object({ boardId: uuid, userId: uuid })),
];
