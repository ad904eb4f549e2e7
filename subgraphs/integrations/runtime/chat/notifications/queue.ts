/**
 * The chat notifications' queue in PostgreSQL: one row per (integration, event, channel), so a
 * replayed event adds nothing, and a chat service that is down loses nothing — rows wait, with
 * their next attempt, until it answers. Rows are claimed per channel (the pacing unit: Slack allows
 * about one message per second per channel), with a lease, so a crashed runtime's claims run out
 * and another sends them.
 */
import type { PrismaClient } from "../../../../../platform/db.ts";
import type { Prisma } from "../../../../../generated/prisma/client.ts";
import type { ChatNotice } from "../model.ts";
import type { BoardNotice } from "./notices.ts";
import { currentTraceparent } from "../../../../../platform/tracing.ts";

export interface ChannelTarget {
  readonly integrationId: string;
  /** `SLACK:<installation>:<channel>` or `TEAMS:<installation>:<conversation id>`. */
  readonly channelKey: string;
}

export interface ClaimedNotification {
  readonly id: string;
  readonly channelKey: string;
  readonly attempt: number;
  readonly createdAt: Date;
  readonly notice: ChatNotice;
  /** The trace its message continues (OpenTelemetry on). */
  readonly traceparent: string | null;
}

/** Which of the organisation's chat integrations hear about this board's events, and in which channels. */
export async function targetsOf(prisma: PrismaClient, notice: BoardNotice): Promise<ChannelTarget[]> {
  const integrations = await prisma.integration.findMany({
    where: {
      organizationId: notice.organizationId,
      enabled: true,
      type: { in: ["SLACK", "TEAMS"] },
      // A board's own integrations; the organisation-wide ones only for boards every member may read.
      OR: [{ boardId: notice.boardId }, ...(notice.boardKind === "PUBLIC" ? [{ boardId: null }] : [])],
    },
    select: { id: true, type: true, config: true },
  });
  const targets: ChannelTarget[] = [];
  for (const integration of integrations) {
    const config = (integration.config ?? {}) as Record<string, unknown>;
    const installationId = typeof config.installationId === "string" ? config.installationId : null;
    if (!installationId) continue;
    const installation = await prisma.chatInstallation.findFirst({
      where: { id: installationId, organizationId: notice.organizationId, uninstalledAt: null },
      select: { id: true },
    });
    if (!installation) continue;
    if (integration.type === "SLACK") {
      if (typeof config.channel === "string") targets.push({ integrationId: integration.id, channelKey: `SLACK:${installation.id}:${config.channel}` });
      continue;
    }
    const conversations = await prisma.chatConversation.findMany({
      where: {
        installationId: installation.id,
        removedAt: null,
        ...(typeof config.conversationId === "string" ? { conversationId: config.conversationId } : {}),
      },
      select: { conversationId: true },
    });
    for (const { conversationId } of conversations) targets.push({ integrationId: integration.id, channelKey: `TEAMS:${installation.id}:${conversationId}` });
  }
  return targets;
}

export async function enqueue(prisma: PrismaClient, notice: BoardNotice, targets: readonly ChannelTarget[]): Promise<number> {
  if (targets.length === 0) return 0;
  const traceparent = currentTraceparent();
  const { count } = await prisma.chatNotification.createMany({
    data: targets.map((target) => ({
      organizationId: notice.organizationId,
      integrationId: target.integrationId,
      eventId: notice.notice.eventId,
      channelKey: target.channelKey,
      notice: notice.notice as unknown as Prisma.InputJsonObject,
      traceparent,
    })),
    skipDuplicates: true,
  });
  return count;
}

/** Channels with notifications due now and not claimed, oldest first. */
export async function dueChannels(prisma: PrismaClient, limit: number): Promise<{ channelKey: string; dueAt: Date }[]> {
  return prisma.$queryRaw<{ channelKey: string; dueAt: Date }[]>`
    SELECT "channelKey", min("nextAttemptAt") AS "dueAt"
    FROM "integrations"."ChatNotification"
    WHERE "status" = 'PENDING' AND "nextAttemptAt" <= now() AND ("lockedUntil" IS NULL OR "lockedUntil" < now())
    GROUP BY "channelKey"
    ORDER BY "dueAt"
    LIMIT ${limit}`;
}

/** Claims up to `max` due notifications of one channel, oldest first, for `leaseMs`. */
export async function claimChannel(prisma: PrismaClient, channelKey: string, max: number, leaseMs: number): Promise<ClaimedNotification[]> {
  const rows = await prisma.$queryRaw<{ id: string; channelKey: string; attempt: number; createdAt: Date; notice: ChatNotice; traceparent: string | null }[]>`
    UPDATE "integrations"."ChatNotification" AS n
    SET "lockedUntil" = now() + make_interval(secs => ${leaseMs / 1000}), "attempt" = n."attempt" + 1
    WHERE n."id" IN (
      SELECT "id" FROM "integrations"."ChatNotification"
      WHERE "channelKey" = ${channelKey} AND "status" = 'PENDING' AND "nextAttemptAt" <= now()
        AND ("lockedUntil" IS NULL OR "lockedUntil" < now())
      ORDER BY "createdAt", "id"
      LIMIT ${max}
      FOR UPDATE SKIP LOCKED)
    RETURNING n."id", n."channelKey", n."attempt", n."createdAt", n."notice", n."traceparent"`;
  return rows.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
}

export async function markSent(prisma: PrismaClient, ids: readonly string[]): Promise<void> {
  await prisma.chatNotification.updateMany({
    where: { id: { in: [...ids] } },
    data: { status: "SUCCEEDED", sentAt: new Date(), lockedUntil: null, error: null },
  });
}

/** Back to the queue, due at `dueAt`; a rate limit is not the notification's failure, so it does not count as an attempt. */
export async function retryLater(prisma: PrismaClient, ids: readonly string[], dueAt: Date, error: string, countAttempt: boolean): Promise<void> {
  await prisma.chatNotification.updateMany({
    where: { id: { in: [...ids] } },
    data: { nextAttemptAt: dueAt, lockedUntil: null, error: error.slice(0, 2000), ...(countAttempt ? {} : { attempt: { decrement: 1 } }) },
  });
}

export async function markFailed(prisma: PrismaClient, ids: readonly string[], error: string): Promise<void> {
  await prisma.chatNotification.updateMany({ where: { id: { in: [...ids] } }, data: { status: "FAILED", lockedUntil: null, error: error.slice(0, 2000) } });
}

/** A channel answered again: its notifications waiting out a backoff are due now (they go in its next, paced, message). */
export async function hurryChannel(prisma: PrismaClient, channelKey: string): Promise<number> {
  const { count } = await prisma.chatNotification.updateMany({
    where: { channelKey, status: "PENDING", nextAttemptAt: { gt: new Date() }, lockedUntil: null },
    data: { nextAttemptAt: new Date() },
  });
  return count;
}
