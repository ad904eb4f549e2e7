// subgraphs/integrations/runtime/webhooks/queue.ts against a real PostgreSQL (a fresh migrated
// database, dropped afterwards; no seed: webhooks reference no other table).
// What it promises: an event becomes one PENDING delivery per enabled, not deleted webhook of its
// organisation that covers its board and type (wildcards too), once however often it is enqueued;
// concurrent claims never lease the same row, a lease holds until it runs out, one webhook cannot
// hold more than its cap; an attempt is logged and moves the delivery on per the retry schedule
// (Retry-After honoured), fails it when exhausted or final, and a 410 disables the webhook; deliveries
// that end FAILED in a row are counted per webhook (a success resets the count) and, per the health
// policy, N of them over a window disable it; every disabling writes an integration.webhook.disabled
// event to the outbox in the same transaction.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { DomainEvent } from "../events/contracts/envelope.ts";
import { validateEvent } from "../events/contracts/registry.ts";
import { claimDue, enqueueDeliveries, failingReason, GONE_REASON, recordAttempt } from "../subgraphs/integrations/runtime/webhooks/queue.ts";
import { domainEvent } from "./support/domain-event.ts";
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

const event = (organizationId: string, eventType: string, data: Record<string, unknown> = {}): DomainEvent => domainEvent(organizationId, { eventType, data, timestamp: "2026-01-15T12:00:00.000Z" });

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
  it("lets organisations take turns: an old backlog of one does not hold back another's fresh delivery", async () => {
    const busyOrg = randomUUID();
    for (let i = 0; i < 30; i++) {
      const webhookId = await webhook(busyOrg);
      for (let j = 0; j < 3; j++) await enqueueDeliveries(prisma, event(busyOrg, "project.item.created"));
      await prisma.webhookDelivery.updateMany({ where: { webhookId }, data: { nextAttemptAt: new Date(Date.now() - 3_600_000) } });
    }
    const fresh = await backlog(1);
    const now = later();
    for (let claim = 0; claim < 2; claim++) {
      const claimed = await claimDue(prisma, { limit: 10, lockMs: 60_000, now: new Date(now.getTime() + claim * 120_000) });
      assert.equal(claimed.length, 10);
      assert.ok(
        claimed.some((row) => row.webhookId === fresh),
        `claim ${claim} passed over the fresh delivery for ${new Set(claimed.map((row) => row.organizationId)).size} organisation(s)`,
      );
      await prisma.webhookDelivery.updateMany({ where: { webhookId: fresh }, data: { lockedUntil: null } });
    }
  });

  it("gives slow webhooks one lease each and only the room it is told, unknown ones one lease each, so neither takes every slot", async () => {
    const slow = [await backlog(5), await backlog(5), await backlog(5)];
    const healthy = await backlog(5);
    const now = later();
    const unknown = await backlog(3);
    const endpoints = { proven: [healthy], slow, slowRoom: 2 };
    const claimed = await claimDue(prisma, { limit: 100, lockMs: 60_000, now, endpoints });
    assert.equal(claimed.filter((row) => row.webhookId === unknown).length, 1, "a webhook not tried yet gets one lease");
    const mine = claimed.filter((row) => [...slow, healthy].includes(row.webhookId));
    const slowRows = mine.filter((row) => slow.includes(row.webhookId));
    assert.equal(slowRows.length, 2, "no more slow deliveries than the room");
    assert.equal(new Set(slowRows.map((row) => row.webhookId)).size, 2, "one per slow webhook");
    assert.equal(mine.filter((row) => row.webhookId === healthy).length, 4, "a healthy webhook still gets perWebhook");
    const again = await claimDue(prisma, { limit: 100, lockMs: 60_000, now, endpoints: { ...endpoints, slowRoom: 5 } });
    assert.deepEqual(
      again.filter((row) => slow.includes(row.webhookId)).map((row) => row.webhookId),
      slow.filter((id) => !slowRows.some((row) => row.webhookId === id)),
      "a slow webhook with a lease running gets no second one",
    );
  });

  it("never hands the same row to two concurrent claims", async () => {
    const webhooks: string[] = [];
    for (let i = 0; i < 8; i++) webhooks.push(await backlog(3));
    const total = await prisma.webhookDelivery.count({ where: { webhookId: { in: webhooks } } });
    assert.equal(total, 24);
    const now = later();
    const seen = new Set<string>();
    // Claims take organisations in a random order, and earlier tests left others with due rows: as many rounds as it takes.
    for (let round = 0; round < 100 && seen.size < total; round++) {
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
    assert.deepEqual(result, { outcome: "gone", attempt: 1, status: "FAILED", nextAttemptAt: null, webhookDisabled: true, disabledReason: GONE_REASON });
    const hook = await prisma.webhook.findUniqueOrThrow({ where: { id: gone.webhookId } });
    assert.equal(hook.enabled, false);
    assert.equal(hook.version, 2);
    assert.equal(hook.disabledReason, "the endpoint answered 410 Gone");
    assert.equal((await prisma.webhookDelivery.findUniqueOrThrow({ where: { id: gone.id } })).status, "FAILED");
    assert.equal(await enqueueDeliveries(prisma, event(hook.organizationId, "project.item.created")), 0, "a disabled webhook gets nothing new");
    await assertDisabledEvent(gone.webhookId, { reason: GONE_REASON, consecutiveFailures: 1, version: 2 });
    assert.equal(await disabledEvents(rejected.webhookId), 0, "a final 4xx alone disables nothing");
  });

  it("writes no second event when a webhook already switched off gets another 410", async () => {
    const webhookId = await backlog(2);
    const [first, second] = (await claimDue(prisma, { limit: 1000, perWebhook: 10, now: later() })).filter((row) => row.webhookId === webhookId);
    assert.ok(first && second);
    assert.equal((await recordAttempt(prisma, first, { status: 410, durationMs: 5 })).webhookDisabled, true);
    const again = await recordAttempt(prisma, second, { status: 410, durationMs: 5 });
    assert.equal(again.webhookDisabled, false, "it was off already");
    assert.equal(again.disabledReason, undefined);
    assert.equal(await disabledEvents(webhookId), 1);
    assert.equal((await prisma.webhook.findUniqueOrThrow({ where: { id: webhookId } })).version, 2);
  });
});

/** Outbox rows announcing that `webhookId` was switched off. */
const disabledEvents = (webhookId: string) => prisma.outboxEvent.count({ where: { aggregateId: webhookId, eventType: "integration.webhook.disabled" } });

/** The one integration.webhook.disabled event of `webhookId`: valid per its contract, written by no user. */
async function assertDisabledEvent(webhookId: string, expected: { reason: string; consecutiveFailures: number; version: number; causationId?: string }) {
  const rows = await prisma.outboxEvent.findMany({ where: { aggregateId: webhookId, eventType: "integration.webhook.disabled" } });
  assert.equal(rows.length, 1, "one event per disabling");
  const row = rows[0];
  assert.ok(row);
  const verdict = validateEvent(row.envelope);
  assert.ok(verdict.ok, verdict.ok ? "" : `${verdict.reason}: ${verdict.errors.join("; ")}`);
  const hook = await prisma.webhook.findUniqueOrThrow({ where: { id: webhookId } });
  assert.equal(row.topic, "general-events");
  assert.equal(row.aggregateType, "Webhook");
  assert.equal(row.aggregateVersion, expected.version);
  assert.equal(row.organizationId, hook.organizationId);
  assert.deepEqual(verdict.event.data, { webhookId, reason: expected.reason, consecutiveFailures: expected.consecutiveFailures });
  const { metadata } = verdict.event;
  assert.equal(metadata.userId, undefined, "no user switched it off");
  assert.ok(!("userId" in metadata));
  assert.equal(metadata.source, "integrations");
  assert.equal(metadata.organizationId, hook.organizationId);
  assert.equal(metadata.correlationId, "test", "the correlation id of the request behind the failed delivery's event");
  if (expected.causationId) assert.equal(metadata.causationId, expected.causationId);
}

describe("webhook health", () => {
  const WINDOW = 60_000;
  const health = { disableAfterFailures: 3, disableAfterMs: WINDOW };
  const start = later();
  const at = (ms: number) => new Date(start.getTime() + ms);

  /** A webhook alone in a new organisation with `count` deliveries, each claimed: ready to record an attempt of. */
  async function claimedDeliveries(count: number) {
    const webhookId = await backlog(count);
    const rows = (await claimDue(prisma, { limit: 1000, perWebhook: count, now: later() })).filter((row) => row.webhookId === webhookId);
    assert.equal(rows.length, count);
    return { webhookId, rows };
  }

  const fail = (delivery: { id: string; webhookId: string; attempt: number }, now: Date, options: { health?: typeof health } = { health }) =>
    recordAttempt(prisma, delivery, { status: 400, durationMs: 5, responseExcerpt: "no" }, { now, ...options });

  async function streak(webhookId: string) {
    const hook = await prisma.webhook.findUniqueOrThrow({ where: { id: webhookId } });
    return { enabled: hook.enabled, version: hook.version, consecutiveFailures: hook.consecutiveFailures, failingSince: hook.failingSince?.getTime() ?? null, disabledReason: hook.disabledReason };
  }

  it("disables a webhook after N deliveries failed in a row over the window, with an integration.webhook.disabled event", async () => {
    const { webhookId, rows } = await claimedDeliveries(5);
    const [a, b, c, d, e] = rows;
    assert.ok(a && b && c && d && e);
    assert.equal((await fail(a, at(0))).webhookDisabled, false);
    assert.deepEqual(await streak(webhookId), { enabled: true, version: 1, consecutiveFailures: 1, failingSince: at(0).getTime(), disabledReason: null });
    await fail(b, at(1000));
    await fail(c, at(WINDOW - 1));
    assert.deepEqual(await streak(webhookId), { enabled: true, version: 1, consecutiveFailures: 3, failingSince: at(0).getTime(), disabledReason: null }, "N failures, inside the window");
    assert.equal(await disabledEvents(webhookId), 0);

    const recorded = await fail(d, at(WINDOW));
    const reason = failingReason(4, at(0));
    assert.equal(reason, `4 deliveries failed in a row since ${at(0).toISOString()}`);
    assert.deepEqual(recorded, { outcome: "failed", attempt: 1, status: "FAILED", nextAttemptAt: null, webhookDisabled: true, disabledReason: reason });
    assert.deepEqual(await streak(webhookId), { enabled: false, version: 2, consecutiveFailures: 4, failingSince: at(0).getTime(), disabledReason: reason });
    await assertDisabledEvent(webhookId, { reason, consecutiveFailures: 4, version: 2, causationId: (await prisma.webhookDelivery.findUniqueOrThrow({ where: { id: d.id } })).eventId });
    assert.equal(await claimDue(prisma, { limit: 1000, now: at(WINDOW + 120_000) }).then((claimed) => claimed.filter((row) => row.webhookId === webhookId).length), 0);

    // An attempt that was in flight when it was switched off still counts, but announces nothing.
    assert.equal((await fail(e, at(WINDOW + 1))).webhookDisabled, false);
    assert.equal(await disabledEvents(webhookId), 1);
    assert.deepEqual(await streak(webhookId), { enabled: false, version: 2, consecutiveFailures: 5, failingSince: at(0).getTime(), disabledReason: reason });
  });

  it("does not disable with fewer than N failures however long, or without a health policy", async () => {
    const few = await claimedDeliveries(2);
    for (const [index, delivery] of few.rows.entries()) await fail(delivery, at(index * 10 * WINDOW));
    assert.deepEqual(await streak(few.webhookId), { enabled: true, version: 1, consecutiveFailures: 2, failingSince: at(0).getTime(), disabledReason: null });

    const unlimited = await claimedDeliveries(5);
    for (const [index, delivery] of unlimited.rows.entries()) assert.equal((await fail(delivery, at(index * 10 * WINDOW), {})).webhookDisabled, false);
    assert.deepEqual(await streak(unlimited.webhookId), { enabled: true, version: 1, consecutiveFailures: 5, failingSince: at(0).getTime(), disabledReason: null }, "counted all the same");
    assert.equal((await disabledEvents(few.webhookId)) + (await disabledEvents(unlimited.webhookId)), 0);
  });

  it("counts only deliveries that end FAILED: a retry scheduled is not a failure yet", async () => {
    const { webhookId, rows } = await claimedDeliveries(1);
    const [delivery] = rows;
    assert.ok(delivery);
    const retried = await recordAttempt(prisma, delivery, { status: 503, durationMs: 5 }, { schedule: [1000], now: at(0), health });
    assert.equal(retried.status, "PENDING");
    assert.deepEqual(await streak(webhookId), { enabled: true, version: 1, consecutiveFailures: 0, failingSince: null, disabledReason: null });
    const exhausted = await recordAttempt(prisma, { ...delivery, attempt: 1 }, { status: 503, durationMs: 5 }, { schedule: [1000], now: at(1000), health });
    assert.equal(exhausted.status, "FAILED");
    assert.deepEqual(await streak(webhookId), { enabled: true, version: 1, consecutiveFailures: 1, failingSince: at(1000).getTime(), disabledReason: null });
  });

  it("resets the count and its clock on a success, so failures before it never add up to a disabling", async () => {
    const { webhookId, rows } = await claimedDeliveries(6);
    const [a, b, ok, c, d, e] = rows;
    assert.ok(a && b && ok && c && d && e);
    await fail(a, at(0));
    await fail(b, at(1000));
    const success = await recordAttempt(prisma, ok, { status: 200, durationMs: 5 }, { now: at(2000), health });
    assert.equal(success.webhookDisabled, false);
    assert.deepEqual(await streak(webhookId), { enabled: true, version: 1, consecutiveFailures: 0, failingSince: null, disabledReason: null });

    // Three more failures, the last one a window after the first failures: the streak is only three old.
    await fail(c, at(WINDOW));
    await fail(d, at(WINDOW + 1000));
    assert.equal((await fail(e, at(2 * WINDOW - 1))).webhookDisabled, false);
    assert.deepEqual(await streak(webhookId), { enabled: true, version: 1, consecutiveFailures: 3, failingSince: at(WINDOW).getTime(), disabledReason: null });
    assert.equal(await disabledEvents(webhookId), 0);
  });
});
