/**
 * Which domain events become chat notifications, and what they say. Five kinds: an item created,
 * its status changed, someone assigned, a comment, a board shared. Names are read at the time of
 * the event (the event carries ids), so a message says "Fix login", not a uuid.
 */
import type { DomainEvent } from "../../../../../events/contracts/envelope.ts";
import type { PrismaClient } from "../../../../../platform/db.ts";
import type { ChatNotice, ChatNoticeKind } from "../model.ts";
import { clip } from "../text.ts";

/** A notice and the board it is about (which integrations match it). */
export interface BoardNotice {
  readonly organizationId: string;
  readonly boardId: string;
  /** Organisation-wide integrations post about PUBLIC boards only: a channel's members are not the board's. */
  readonly boardKind: string;
  readonly notice: ChatNotice;
}

type Data = Readonly<Record<string, unknown>>;

const text = (value: unknown): string | null => (typeof value === "string" ? value : null);
const label = (value: unknown): string | null => (value && typeof value === "object" && "label" in value ? text((value as { label: unknown }).label) : null);
const ids = (value: unknown): string[] => (Array.isArray(value) ? value.filter((id): id is string => typeof id === "string") : []);

/** The kind and the "what changed" line, or null when the event is not one chats hear about. */
function classify(event: DomainEvent): { kind: ChatNoticeKind; itemId: string | null; users: string[]; summary: (names: Names) => string } | null {
  const data: Data = event.data;
  switch (event.eventType) {
    case "project.item.created":
      return { kind: "item.created", itemId: text(data.itemId), users: [], summary: () => "New item" };
    case "project.item.column_value.set": {
      if (data.columnType !== "STATUS") return null;
      const from = label(data.from) ?? "none";
      const to = label(data.to) ?? "none";
      return { kind: "item.status_changed", itemId: text(data.itemId), users: [], summary: () => `Status: ${from} → ${to}` };
    }
    case "project.item.updated": {
      const added = ids(((data.changes as Data | undefined)?.assignees as Data | undefined)?.added);
      if (added.length === 0) return null;
      return {
        kind: "item.assigned",
        itemId: text(data.itemId),
        users: added,
        summary: (names) => `Assigned to ${added.map((id) => names.user(id)).join(", ")}`,
      };
    }
    case "comment.added": {
      const body = text(data.body) ?? "";
      return { kind: "comment.added", itemId: text(data.itemId), users: [], summary: () => `Comment: ${clip(body, 280)}` };
    }
    case "project.member.added": {
      const userId = text(data.userId);
      return {
        kind: "board.shared",
        itemId: null,
        users: userId ? [userId] : [],
        summary: (names) => `Board shared with ${userId ? names.user(userId) : "someone"}`,
      };
    }
    default:
      return null;
  }
}

interface Names {
  user(id: string): string;
}

/**
 * The event's notice, or null when chats do not hear of it: not one of the five kinds, or no Slack
 * or Teams integration of the organisation is on (checked before any name is read, so organisations
 * without chat apps cost one count per such event).
 */
export async function boardNoticeOf(prisma: PrismaClient, event: DomainEvent, webUrl: string): Promise<BoardNotice | null> {
  const kind = classify(event);
  const boardId = text(event.data.boardId);
  if (!kind || !boardId) return null;
  const organizationId = event.metadata.organizationId;
  const listening = await prisma.integration.count({ where: { organizationId, enabled: true, type: { in: ["SLACK", "TEAMS"] } } });
  if (listening === 0) return null;
  const board = await prisma.board.findFirst({ where: { id: boardId, organizationId }, select: { name: true, kind: true } });
  if (!board) return null;
  const item = kind.itemId ? await prisma.item.findFirst({ where: { id: kind.itemId, organizationId }, select: { name: true } }) : null;
  const userIds = new Set(kind.users);
  if (event.metadata.userId) userIds.add(event.metadata.userId);
  const users = new Map(
    (await prisma.user.findMany({ where: { id: { in: [...userIds] }, organizationId }, select: { id: true, name: true } })).map((user) => [user.id, user.name]),
  );
  const names: Names = { user: (id) => users.get(id) ?? "a former member" };
  const itemName = item?.name ?? text(event.data.name);
  const base = webUrl.replace(/\/+$/, "");
  return {
    organizationId,
    boardId,
    boardKind: board.kind,
    notice: {
      eventId: event.eventId,
      kind: kind.kind,
      title: kind.kind === "board.shared" ? board.name : (itemName ?? "An item"),
      boardName: board.name,
      actor: event.metadata.userId ? names.user(event.metadata.userId) : null,
      summary: kind.summary(names),
      url: kind.itemId ? `${base}/boards/${boardId}/items/${kind.itemId}` : `${base}/boards/${boardId}`,
      itemId: item ? kind.itemId : null,
      occurredAt: event.metadata.timestamp,
    },
  };
}
