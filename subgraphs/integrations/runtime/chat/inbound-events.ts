/**
 * De-duplication of inbound chat events: Slack retries an event it thinks we missed, a Teams
 * channel may deliver an activity twice. The first copy claims the id; later ones change nothing.
 * Kept in PostgreSQL so every runtime process agrees.
 */
import type { PrismaClient } from "../../../../platform/db.ts";
import type { ChatProvider } from "./model.ts";

/** True for the first copy of an event (and records it); false for a repeat. */
export async function claimInboundEvent(prisma: PrismaClient, provider: ChatProvider, eventId: string): Promise<boolean> {
  const inserted = await prisma.$executeRaw`
    INSERT INTO "integrations"."ChatInboundEvent" ("provider", "eventId")
    VALUES (${provider}::"integrations"."IntegrationType", ${eventId})
    ON CONFLICT DO NOTHING`;
  return inserted === 1;
}

/** Forgets ids older than `olderThanMs` (Slack retries within minutes). */
export async function pruneInboundEvents(prisma: PrismaClient, olderThanMs: number): Promise<number> {
  const { count } = await prisma.chatInboundEvent.deleteMany({ where: { receivedAt: { lt: new Date(Date.now() - olderThanMs) } } });
  return count;
}
