/**
 * A webhook acts with its creator's rights: it stops matching events once its creator is no
 * longer OWNER or ADMIN, or leaves the organisation. The runtime applies the membership events as
 * they come by setting (or clearing) the webhook's `suspendedReason`; enqueueDeliveries (queue.ts)
 * then logs each matching event as a SKIPPED delivery carrying that reason instead of sending it.
 *
 * Suspension is runtime state, not an edit of the webhook: it bumps no version, so an admin's
 * update in flight does not CONFLICT over a change they did not make. Every write is conditional
 * on the current reason, so a replayed event changes nothing the second time.
 */
import type { DomainEvent } from "../../../../events/contracts/envelope.ts";
import type { PrismaClient, Tx } from "../../../../platform/db.ts";
import { isId } from "../../../shared/validation.ts";

/** The suspendedReason of a webhook whose creator was demoted below ADMIN. */
export const CREATOR_DEMOTED = "its creator is no longer OWNER or ADMIN";
/** The suspendedReason of a webhook whose creator left (or was removed from) the organisation. */
export const CREATOR_LEFT = "its creator left the organisation";

/** Roles that may own webhooks (the integrations subgraph's requireAdmin). */
const MANAGING_ROLES: ReadonlySet<string> = new Set(["OWNER", "ADMIN"]);

/** The new role of a `member.role_changed` event (catalog.ts: `data.changes.role.to`); null when absent. */
function newRole(data: DomainEvent["data"]): string | null {
  const changes = data.changes;
  if (typeof changes !== "object" || changes === null || !("role" in changes)) return null;
  const role = changes.role;
  if (typeof role !== "object" || role === null || !("to" in role)) return null;
  return typeof role.to === "string" ? role.to : null;
}

/**
 * Applies a `member.role_changed` or `member.removed` event to the webhooks its member created in
 * the event's organisation (deleted ones aside): demoted below ADMIN → suspended with
 * CREATOR_DEMOTED; promoted back to OWNER or ADMIN → resumed, if that was the reason; removed →
 * suspended with CREATOR_LEFT (which a later promotion does not lift). Other events are ignored.
 * Takes a transaction client too. Returns the number of webhooks changed.
 */
export async function applyMembershipEvent(prisma: PrismaClient | Tx, event: DomainEvent): Promise<number> {
  const userId = event.data.userId;
  if (typeof userId !== "string" || !isId(userId)) return 0;
  const created = { organizationId: event.metadata.organizationId, createdById: userId, deletedAt: null };
  switch (event.eventType) {
    case "member.role_changed": {
      const role = newRole(event.data);
      if (role === null) return 0;
      const { count } = MANAGING_ROLES.has(role)
        ? await prisma.webhook.updateMany({ where: { ...created, suspendedReason: CREATOR_DEMOTED }, data: { suspendedReason: null } })
        : await prisma.webhook.updateMany({ where: { ...created, suspendedReason: null }, data: { suspendedReason: CREATOR_DEMOTED } });
      return count;
    }
    case "member.removed": {
      const { count } = await prisma.webhook.updateMany({
        where: { ...created, OR: [{ suspendedReason: null }, { suspendedReason: CREATOR_DEMOTED }] },
        data: { suspendedReason: CREATOR_LEFT },
      });
      return count;
    }
    default:
      return 0;
  }
}
