// What the database says about the run: the delivery queue by status and attempts (the receiver
// cannot see attempts that were refused), whether anything can still be sent, and, for each
// delivery the receiver never got, how far it came: still queued (late, not lost), given up
// (FAILED), recorded as delivered though never received, never queued, or still in the outbox.
import type { PrismaClient } from "../../../platform/db.ts";
import type { Missing } from "./ledger.ts";

export interface QueueState {
  readonly byStatus: Readonly<Record<string, number>>;
  readonly deliveries: number;
  readonly attempts: number;
  /** Most attempts one delivery took. */
  readonly maxAttempts: number;
  /** Outbox rows not published yet. */
  readonly unpublished: number;
}

export async function queueState(prisma: PrismaClient): Promise<QueueState> {
  const groups = await prisma.webhookDelivery.groupBy({ by: ["status"], _count: { _all: true }, _max: { attempt: true } });
  const byStatus: Record<string, number> = {};
  let deliveries = 0;
  let maxAttempts = 0;
  for (const group of groups) {
    byStatus[group.status] = group._count._all;
    deliveries += group._count._all;
    maxAttempts = Math.max(maxAttempts, group._max.attempt ?? 0);
  }
  const attempts = await prisma.webhookAttempt.count();
  const unpublished = await prisma.outboxEvent.count({ where: { publishedAt: null } });
  return { byStatus, deliveries, attempts, maxAttempts, unpublished };
}

/** True when nothing more can be sent: every outbox row published and no delivery PENDING. */
export async function quiescent(prisma: PrismaClient): Promise<boolean> {
  const pending = await prisma.webhookDelivery.count({ where: { status: "PENDING" } });
  if (pending > 0) return false;
  return (await prisma.outboxEvent.count({ where: { publishedAt: null } })) === 0;
}

/** Where the deliveries the receiver never got are. Only `pending` may still arrive; the rest are lost. */
export interface MissingByCause {
  /** Queued and still to be attempted: late, not lost. */
  readonly pending: number;
  /** Given up (FAILED) or never to be sent (SKIPPED). */
  readonly failed: number;
  /** Recorded SUCCEEDED, yet the receiver never had a request for it. */
  readonly succeededUnseen: number;
  /** The event was published to Kafka, but the runtime never queued the delivery. */
  readonly notQueued: number;
  /** The event is still in the outbox. */
  readonly unpublished: number;
  /** One line per lost delivery (at most `limit`), then a few late ones. */
  readonly lines: readonly string[];
}

export async function missingByCause(prisma: PrismaClient, missing: readonly Missing[], limit = 20): Promise<MissingByCause> {
  const rows = await prisma.webhookDelivery.findMany({
    where: { eventId: { in: [...new Set(missing.map((entry) => entry.event.eventId))] } },
    select: { id: true, webhookId: true, eventId: true, status: true, attempt: true, error: true, responseStatus: true, nextAttemptAt: true, lockedUntil: true },
  });
  const deliveryOf = new Map(rows.map((row) => [`${row.webhookId}:${row.eventId}`, row]));
  const published = new Set(
    (
      await prisma.outboxEvent.findMany({
        where: { id: { in: [...new Set(missing.map((entry) => entry.event.eventId))] }, publishedAt: { not: null } },
        select: { id: true },
      })
    ).map((row) => row.id),
  );
  const counts = { pending: 0, failed: 0, succeededUnseen: 0, notQueued: 0, unpublished: 0 };
  const lost: string[] = [];
  const late: string[] = [];
  for (const { webhook, event } of missing) {
    const delivery = deliveryOf.get(`${webhook.id}:${event.eventId}`);
    const name = `event #${event.n} ${event.eventId} → webhook ${webhook.index}`;
    if (!published.has(event.eventId)) {
      counts.unpublished += 1;
      lost.push(`${name}: still in the outbox`);
    } else if (!delivery) {
      counts.notQueued += 1;
      lost.push(`${name}: published, but the runtime never queued a delivery`);
    } else {
      const state = `delivery ${delivery.id} ${delivery.status} after ${delivery.attempt} attempts (last: ${delivery.responseStatus ?? "-"} ${delivery.error ?? ""}; next ${delivery.nextAttemptAt.toISOString()}, lease ${delivery.lockedUntil?.toISOString() ?? "none"})`;
      if (delivery.status === "PENDING") {
        counts.pending += 1;
        late.push(`${name}: ${state}`);
      } else if (delivery.status === "SUCCEEDED") {
        counts.succeededUnseen += 1;
        lost.push(`${name}: ${state}, never received`);
      } else {
        counts.failed += 1;
        lost.push(`${name}: ${state}`);
      }
    }
  }
  const lines = [...lost.slice(0, limit), ...(lost.length > limit ? [`… and ${lost.length - limit} more lost`] : []), ...late.slice(0, 3)];
  if (late.length > 3) lines.push(`… and ${late.length - 3} more still queued`);
  return { ...counts, lines };
}

/**
 * This machine's PostgreSQL may run without autovacuum (tests prefer it); production's does not,
 * and the claim query's plan depends on the statistics autoanalyze keeps. Returns a stop function
 * for an emulation (ANALYZE of the tables the run writes every `intervalMs`), or null when
 * autovacuum is on and does it already.
 */
export async function emulateAutoanalyze(prisma: PrismaClient, intervalMs: number): Promise<(() => Promise<void>) | null> {
  const [setting] = await prisma.$queryRaw<{ autovacuum: string }[]>`SHOW autovacuum`;
  if (setting?.autovacuum === "on" || intervalMs <= 0) return null;
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(() =>
      prisma.$executeRaw`ANALYZE integrations."WebhookDelivery", integrations."WebhookAttempt", integrations."Webhook", events."OutboxEvent"`.catch((error) =>
        console.error("[analyze]", error instanceof Error ? error.message : error),
      ),
    );
  }, intervalMs);
  return async () => {
    clearInterval(timer);
    await running;
  };
}
