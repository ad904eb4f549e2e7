import { BOARD_ACTIVITY_TYPES } from "../../../events/contracts/activity.ts";
import type { DomainEvent } from "../../../events/contracts/envelope.ts";
import type { StreamEntry } from "../../../events/streams/feed.ts";
import type { Identity } from "../../../platform/identity.ts";
import type { BoardActivityType, NotificationType } from "./generated/types.ts";
import type { EventSource } from "./payload.ts";

/** Domain event types a board's subscribers see, and what boardActivity calls them. */
const BOARD_ACTIVITY: Readonly<Record<string, BoardActivityType>> = BOARD_ACTIVITY_TYPES;

/** An event read from a stream: its cursor and envelope. */
export interface StreamEvent {
  readonly cursor: string;
  readonly event: DomainEvent;
  readonly data: Readonly<Record<string, unknown>>;
  /** The trace of the change (OpenTelemetry on): each socket group's delivery is a span of it. */
  readonly traceparent?: string;
}

export function parseEntry(entry: StreamEntry): StreamEvent | null {
  try {
    const event = JSON.parse(entry.event) as DomainEvent;
    const data = typeof event.data === "object" && event.data !== null ? (event.data as Record<string, unknown>) : {};
    return entry.trace ? { cursor: entry.cursor, event, data, traceparent: entry.trace } : { cursor: entry.cursor, event, data };
  } catch {
    // The bridge validated it; a broken entry can only be skipped, never block the stream.
    return null;
  }
}

const text = (value: unknown): string | null => (typeof value === "string" && value.length > 0 ? value : null);
const ids = (value: unknown): string[] => (Array.isArray(value) ? value.filter((id): id is string => typeof id === "string") : []);

export const boardIdOf = (event: StreamEvent): string | null => text(event.data.boardId);
export const itemIdOf = (event: StreamEvent): string | null => text(event.data.itemId);

function commonValues(event: StreamEvent) {
  return {
    cursor: event.cursor,
    eventId: event.event.eventId,
    eventType: event.event.eventType,
    boardId: boardIdOf(event),
    itemId: itemIdOf(event),
    data: event.data,
    occurredAt: event.event.metadata.timestamp,
  };
}

function commonEntities(event: StreamEvent) {
  return { item: itemIdOf(event), board: boardIdOf(event), actor: text(event.event.metadata.userId) };
}

/** The boardActivity / itemChanged view of an event; null for events boards do not show. */
export function boardActivityOf(event: StreamEvent): EventSource | null {
  const type = BOARD_ACTIVITY[event.event.eventType];
  if (!type || !boardIdOf(event)) return null;
  // A deleted item no longer resolves; say so rather than ask the items subgraph for nothing.
  const entities = type === "ITEM_DELETED" ? { ...commonEntities(event), item: null } : commonEntities(event);
  return { values: { ...commonValues(event), type }, entities };
}

/** Who reads a notification stream: what concerns them depends on who they are and their role. */
export type NotificationReader = Pick<Identity, "userId" | "organizationId" | "role">;

/** Roles that manage the organisation's integrations, and are told when the runtime switches one off. */
const INTEGRATION_MANAGERS: ReadonlySet<string> = new Set(["OWNER", "ADMIN"]);

/** What an event means for one reader's notifications; null when it does not concern them. */
export function notificationOf(event: StreamEvent, reader: NotificationReader): EventSource | null {
  const type = notificationType(event, reader);
  if (!type) return null;
  return {
    values: { ...commonValues(event), type },
    entities: commonEntities(event),
    personal: true,
    // Being told you lost a board needs no right to read it; anything else about a board you
    // cannot read (an assignment on a private board not shared with you) is not yours to see.
    unreadable: type === "BOARD_UNSHARED" ? "deliver" : "skip",
  };
}

function notificationType(event: StreamEvent, reader: NotificationReader): NotificationType | null {
  const { userId } = reader;
  const { eventType } = event.event;
  // Your own actions are not news to you.
  if (event.event.metadata.userId === userId && eventType !== "member.role_changed") return null;
  const assignees = (event.data.changes as { assignees?: { added?: unknown; removed?: unknown } } | undefined)?.assignees;
  switch (eventType) {
    case "project.item.created":
      return ids(event.data.assigneeIds).includes(userId) ? "ASSIGNED" : null;
    case "project.item.updated":
      if (ids(assignees?.added).includes(userId)) return "ASSIGNED";
      if (ids(assignees?.removed).includes(userId)) return "UNASSIGNED";
      return null;
    case "project.member.added":
      return event.data.userId === userId ? "BOARD_SHARED" : null;
    case "project.member.removed":
      return event.data.userId === userId ? "BOARD_UNSHARED" : null;
    case "member.role_changed":
      return event.data.userId === userId ? "ROLE_CHANGED" : null;
    case "integration.webhook.disabled":
      // The stream is the organisation's already; the check keeps that true of this view on its own.
      return INTEGRATION_MANAGERS.has(reader.role) && event.event.metadata.organizationId === reader.organizationId ? "WEBHOOK_DISABLED" : null;
    default:
      return null;
  }
}

/**
 * What an event changes about who may read what, applied before the event is delivered:
 * - `board`: the board's readers may have changed (kind, sharing): cached answers for it are stale;
 * - `member`: a member's role changed or they left: their sockets carry a stale identity and are
 *   closed (4403), and every cached answer of the organisation is stale.
 */
export type AccessChange = { readonly kind: "board"; readonly boardId: string } | { readonly kind: "member"; readonly userId: string };

export function accessChangeOf(event: StreamEvent): AccessChange | null {
  switch (event.event.eventType) {
    case "project.updated":
    case "project.archived":
    case "project.member.added":
    case "project.member.removed": {
      const boardId = boardIdOf(event);
      return boardId ? { kind: "board", boardId } : null;
    }
    case "member.removed":
    case "member.role_changed": {
      const userId = text(event.data.userId);
      return userId ? { kind: "member", userId } : null;
    }
    default:
      return null;
  }
}
