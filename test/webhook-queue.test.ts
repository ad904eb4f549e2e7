// subgraphs/integrations/runtime/webhooks/queue.ts against a real PostgreSQL (a fresh migrated
// database, dropped afterwards; no seed: webhooks reference no other table).
// What it promises: an event becomes one PENDING delivery per enabled, not deleted webhook of its
// organisation that covers its board and type (wildcards too), once however often it is enqueued;
// concurrent claims never lease the same row, a lease holds until it runs out, one webhook cannot
// hold more than its cap; an attempt is logged and moves the delivery on per the retry schedule
// (Retry-After honoured), fails it when exhausted or final, and a 410 disables the webhook.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { DomainEvent } from "../events/contracts/envelope.ts";
import { claimDue, enqueueDeliveries, recordAttempt } from "../subgraphs/integrations/runtime/webhooks/queue.ts";
import { migratedDatabase } from "./support/migrated-database.ts";

const prisma = migratedDatabase("webhook_queue");

interface WebhookSpec {
  boardId?: string | null;
  events?: string[];
  enabled?: boolean;
  deleted?: boolean;
}

async function webhook(organizationId: string, spec: WebhookSpec = {}): Promise<string> {
  const row = await prisma.webhook.create({
    data: {
      organizationId,
      boardId: spec.boardId ?? null,
      url: `https://hooks.example.com/${randomUUID()}`,
      secret: "whsec_test",
      events: spec.events ?? ["project.item.*"],
      enabled: spec.enabled ?? true,
      deletedAt: spec.deleted ? new Date() : null,
      createdById: randomUUID(),
    },
  });
  return row.id;
}

function event(organizationId: string, eventType: string, data: Record<string, unknown> = {}): DomainEvent {
  return {
    eventId: randomUUID(),
    eventType,
    schemaVersion: 1,
    aggregateId: randomUUID(),
    aggregateType: "Item",
    version: 1,
    data,
    metadata: { correlationId: "test", organizationId, timestamp: "2026-01-15T12:00:00.000Z", source: "items" },
  };
}

/** A webhook (alone in a new organisation) with `count` due deliveries; returns the webhook id. */
async function backlog(count: number): Promise<string> {
  const organizationId = randomUUID();
  const id = await webhook(organizationId);
  for (let i = 0; i < count; i++) await enqueueDeliveries(prisma, event(organizationId, "project.item.created"));
  return id;
}

/** A moment surely after every row's default nextAttemptAt (the database's now()). */
const later = (ms = 1000) => new Date(Date.now() + ms);

describe("enqueueDeliveries", () => {
  it("matches the organisation, the board and the event type (wildcards), never other orgs or disabled/deleted webhooks", async () => {
    const org = randomUUID();
    const board = randomUUID();
    const allBoards = await webhook(org, { events: ["project.item.*"] });
    const thisBoard = await webhook(org, { boardId: board, events: ["project.item.created"] });
    await webhook(org, { boardId: randomUUID(), events: ["project.item.created"] });
    await webhook(org, { events: ["comment.created"] });
    await webhook(org, { events: ["project.item.updated"] });
    await webhook(org, { enabled: false });
    await webhook(org, { deleted: true });
    const otherOrg = await webhook(randomUUID());

    const created = event(org, "project.item.created", { boardId: board, name: "x" });
    assert.equal(await enqueueDeliveries(prisma, created), 2);
    const rows = await prisma.webhookDelivery.findMany({ where: { eventId: created.eventId } });
    assert.deepEqual(rows.map((row) => row.webhookId).sort(), [allBoards, thisBoard].sort());
    for (const row of rows) {
      assert.equal(row.status, "PENDING");
      assert.equal(row.organizationId, org);
      assert.equal(row.attempt, 0);
      assert.equal(row.lockedUntil, null);
      assert.deepEqual(JSON.parse(row.payload ?? "null"), {
        id: created.eventId,
        type: "project.item.created",
        schemaVersion: 1,
        occurredAt: "2026-01-15T12:00:00.000Z",
        organizationId: org,
        boardId: board,
        data: { boardId: board, name: "x" },
      });
    }
    assert.equal(await prisma.webhookDelivery.count({ where: { webhookId: otherOrg } }), 0);

    // No board on the event: only webhooks for all boards.
    const orgWide = event(org, "project.item.deleted");
    assert.equal(await enqueueDeliveries(prisma, orgWide), 1);
    assert.equal((await prisma.webhookDelivery.findFirstOrThrow({ where: { eventId: orgWide.eventId } })).webhookId, allBoards);
  });

  it("creates no duplicates when the same event is enqueued again", async () => {
    const org = randomUUID();
    await webhook(org);
    await webhook(org, { events: ["project.item.created"] });
    const created = event(org, "project.item.created");
    assert.equal(await enqueueDeliveries(prisma, created), 2);
    assert.equal(await enqueueDeliveries(prisma, created), 0);
    await Promise.all([enqueueDeliveries(prisma, created), enqueueDeliveries(prisma, created)]);
    assert.equal(await prisma.webhookDelivery.count({ where: { eventId: created.eventId } }), 2);
  });
});

describe("claimDue", () => {
  it("never hands the same row to two concurrent claims", async () => {
    const webhooks: string[] = [];
    for (let i = 0; i < 8; i++) webhooks.push(await backlog(3));
    const total = await prisma.webhookDelivery.count({ where: { webhookId: { in: webhooks } } });
    assert.equal(total, 24);
    const now = later();
    const seen = new Set<string>();
    for (let round = 0; round < 5 && seen.size < total; round++) {
      const batches = await Promise.all([0, 1, 2, 3].map(() => claimDue(prisma, { limit: 5, lockMs: 60_000, now })));
      for (const row of batches.flat().filter((claimed) => webhooks.includes(claimed.webhookId))) {
        assert.ok(!seen.has(row.id), `row ${row.id} claimed twice`);
        seen.add(row.id);
      }
    }
    assert.equal(seen.size, total, "every due row is claimed in the end");
  });

  it("does not re-claim a leased row until its lease runs out, and returns what the dispatcher needs", async () => {
    const webhookId = await backlog(1);
    const now = later();
    const rows = (await claimDue(prisma, { limit: 100, lockMs: 5000, now })).filter((row) => row.webhookId === webhookId);
    assert.equal(rows.length, 1);
    const claimed = rows[0];
    assert.ok(claimed);
    const hook = await prisma.webhook.findUniqueOrThrow({ where: { id: webhookId } });
    assert.equal(claimed.webhookId, webhookId);
    assert.equal(claimed.url, hook.url);
    assert.deepEqual(claimed.secrets, { secret: "whsec_test", previousSecret: null, previousSecretExpiresAt: null });
    assert.equal(claimed.attempt, 0);
    assert.equal(claimed.organizationId, hook.organizationId);
    assert.equal(JSON.parse(claimed.payload).type, "project.item.created");
    assert.equal(claimed.lockedUntil.getTime(), now.getTime() + 5000);

    const mine = async (at: Date) => (await claimDue(prisma, { limit: 100, lockMs: 5000, now: at })).filter((row) => row.webhookId === webhookId);
    assert.deepEqual(await mine(new Date(now.getTime() + 4999)), []);
    assert.deepEqual(
      (await mine(new Date(now.getTime() + 5001))).map((row) => row.id),
      [claimed.id],
    );
  });

  it("leases at most perWebhook rows of one webhook at a time", async () => {
    const webhookId = await backlog(6);
    const now = later();
    const mine = async (at: Date) => (await claimDue(prisma, { limit: 100, lockMs: 5000, perWebhook: 4, now: at })).filter((row) => row.webhookId === webhookId);
    assert.equal((await mine(now)).length, 4);
    assert.equal((await mine(now)).length, 0, "the webhook is at its cap");
    assert.equal((await mine(new Date(now.getTime() + 6000))).length, 4, "expired leases free the slots");
  });
});

describe("recordAttempt", () => {
  const SCHEDULE = [1000, 5000];
  const centred = () => 0.5;

  async function claimOne(): Promise<{ id: string; webhookId: string; attempt: number }> {
    const webhookId = await backlog(1);
    const row = (await claimDue(prisma, { limit: 1000, now: later() })).find((claimed) => claimed.webhookId === webhookId);
    assert.ok(row);
    return row;
  }

  it("marks a 2xx delivered", async () => {
    const delivery = await claimOne();
    const now = later();
    const result = await recordAttempt(prisma, delivery, { status: 204, durationMs: 12.4, responseExcerpt: "" }, { schedule: SCHEDULE, now });
    assert.deepEqual(result, { outcome: "success", attempt: 1, status: "SUCCEEDED", nextAttemptAt: null, webhookDisabled: false });
    const row = await prisma.webhookDelivery.findUniqueOrThrow({ where: { id: delivery.id }, include: { attempts: true } });
    assert.equal(row.status, "SUCCEEDED");
    assert.equal(row.attempt, 1);
    assert.equal(row.responseStatus, 204);
    assert.equal(row.deliveredAt?.getTime(), now.getTime());
    assert.equal(row.lockedUntil, null);
    assert.equal(row.attempts.length, 1);
    assert.equal(row.attempts[0]?.durationMs, 12);
    assert.equal(row.attempts[0]?.responseStatus, 204);
  });

  it("reschedules a retryable failure per the schedule (Retry-After only lengthens), then fails it when exhausted", async () => {
    const delivery = await claimOne();
    const now = later();
    const first = await recordAttempt(prisma, delivery, { status: 503, durationMs: 5, responseExcerpt: "busy" }, { schedule: SCHEDULE, now, random: centred });
    assert.equal(first.status, "PENDING");
    assert.equal(first.nextAttemptAt?.getTime(), now.getTime() + 1000);
    let row = await prisma.webhookDelivery.findUniqueOrThrow({ where: { id: delivery.id } });
    assert.equal(row.status, "PENDING");
    assert.equal(row.attempt, 1);
    assert.equal(row.lockedUntil, null);
    assert.equal(row.nextAttemptAt.getTime(), now.getTime() + 1000);
    assert.deepEqual(await claimDue(prisma, { limit: 1000, now: new Date(now.getTime() + 999) }).then((rows) => rows.filter((r) => r.id === delivery.id)), []);

    const second = await recordAttempt(prisma, { ...delivery, attempt: 1 }, { status: 429, durationMs: 5, retryAfter: "3" }, { schedule: SCHEDULE, now, random: centred });
    assert.equal(second.nextAttemptAt?.getTime(), now.getTime() + 5000, "a shorter Retry-After does not shorten the wait");
    const third = await recordAttempt(prisma, { ...delivery, attempt: 1 }, { status: null, durationMs: 5, error: "ECONNRESET" }, { schedule: SCHEDULE, now }).catch((error: unknown) => error);
    assert.ok(third instanceof Error, "the same attempt number cannot be recorded twice");

    const last = await recordAttempt(prisma, { ...delivery, attempt: 2 }, { status: null, durationMs: 10_000, error: "timeout" }, { schedule: SCHEDULE, now });
    assert.deepEqual(last, { outcome: "retry", attempt: 3, status: "FAILED", nextAttemptAt: null, webhookDisabled: false });
    row = await prisma.webhookDelivery.findUniqueOrThrow({ where: { id: delivery.id } });
    assert.equal(row.status, "FAILED");
    assert.equal(row.attempt, 3);
    assert.equal(row.error, "timeout");
    const attempts = await prisma.webhookAttempt.findMany({ where: { deliveryId: delivery.id }, orderBy: { attempt: "asc" } });
    assert.deepEqual(
      attempts.map((attempt) => [attempt.attempt, attempt.responseStatus, attempt.nextAttemptAt?.getTime() ?? null]),
      [
        [1, 503, now.getTime() + 1000],
        [2, 429, now.getTime() + 5000],
        [3, null, null],
      ],
    );
  });

  it("honours a Retry-After longer than the scheduled delay", async () => {
    const delivery = await claimOne();
    const now = later();
    const result = await recordAttempt(prisma, delivery, { status: 503, durationMs: 5, retryAfter: "4" }, { schedule: SCHEDULE, now, random: centred });
    assert.equal(result.nextAttemptAt?.getTime(), now.getTime() + 4000);
  });

  it("fails a final answer at once and disables the webhook on 410", async () => {
    const rejected = await claimOne();
    const final = await recordAttempt(prisma, rejected, { status: 400, durationMs: 5, responseExcerpt: "x".repeat(5000) }, { schedule: SCHEDULE });
    assert.equal(final.status, "FAILED");
    assert.equal(final.webhookDisabled, false);
    assert.equal((await prisma.webhook.findUniqueOrThrow({ where: { id: rejected.webhookId } })).enabled, true);
    assert.equal((await prisma.webhookAttempt.findFirstOrThrow({ where: { deliveryId: rejected.id } })).responseExcerpt?.length, 2000);

    const gone = await claimOne();
    const result = await recordAttempt(prisma, gone, { status: 410, durationMs: 5 }, { schedule: SCHEDULE });
    assert.deepEqual(result, { outcome: "gone", attempt: 1, status: "FAILED", nextAttemptAt: null, webhookDisabled: true });
    const hook = await prisma.webhook.findUniqueOrThrow({ where: { id: gone.webhookId } });
    assert.equal(hook.enabled, false);
    assert.equal(hook.version, 2);
    assert.equal((await prisma.webhookDelivery.findUniqueOrThrow({ where: { id: gone.id } })).status, "FAILED");
    assert.equal(await enqueueDeliveries(prisma, event(hook.organizationId, "project.item.created")), 0, "a disabled webhook gets nothing new");
  });
});
