// subgraphs/integrations/runtime/webhooks/dispatcher.ts against a real PostgreSQL (a fresh migrated
// database, dropped afterwards) and real HTTP receivers on loopback.
// What it promises: a delivery arrives signed per Standard Webhooks (the reference verifier accepts
// it) with the event envelope as body; a retryable answer is retried with the same webhook id; a
// 410 disables the webhook and nothing more is sent to it; an event handled twice is delivered
// once; a receiver that never answers does not hold up delivery to another one.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { Webhook } from "standardwebhooks";
import type { DomainEvent } from "../events/contracts/envelope.ts";
import { createWebhookDispatcher, type WebhookDispatcher, type WebhookDispatcherOptions } from "../subgraphs/integrations/runtime/webhooks/dispatcher.ts";
import { enqueueDeliveries, webhookPayload } from "../subgraphs/integrations/runtime/webhooks/queue.ts";
import { generateWebhookSecret } from "../subgraphs/integrations/runtime/webhooks/signature.ts";
import { domainEvent } from "./support/domain-event.ts";
import { migratedDatabase } from "./support/migrated-database.ts";
import { type Received, Receiver, status } from "./support/webhook-receiver.ts";

const prisma = migratedDatabase("webhook_dispatcher");

async function webhook(organizationId: string, url: string, secret: string): Promise<string> {
  const row = await prisma.webhook.create({
    data: { organizationId, url, secret, events: ["project.item.*"], createdById: randomUUID() },
  });
  return row.id;
}

const event = (organizationId: string): DomainEvent => domainEvent(organizationId, { data: { name: "x" } });

function dispatcher(options: Partial<WebhookDispatcherOptions> = {}): WebhookDispatcher {
  return createWebhookDispatcher({
    prisma,
    agent: { allowPrivate: true, timeoutMs: 2000 },
    schedule: [50, 50, 50],
    pollIntervalMs: 20,
    lockMs: 5000,
    logger: pino({ level: "silent" }),
    ...options,
  });
}

function verify(secret: string, received: Received): unknown {
  return new Webhook(secret).verify(received.body, received.headers as Record<string, string>);
}

describe("webhook dispatcher", () => {
  it("delivers the envelope signed so that the Standard Webhooks verifier accepts it", async () => {
    const receiver = new Receiver(status(204));
    const secret = generateWebhookSecret();
    const org = randomUUID();
    const webhookId = await webhook(org, await receiver.url, secret);
    const subject = dispatcher();
    try {
      const created = event(org);
      await subject.handle(created);
      const [request] = await receiver.received(1);
      assert.ok(request);
      assert.deepEqual(verify(secret, request), webhookPayload(created));
      assert.deepEqual(JSON.parse(request.body), webhookPayload(created));
      assert.equal(request.headers["x-sunday-event-type"], "project.item.created");
      await subject.drain();
      const delivery = await prisma.webhookDelivery.findFirstOrThrow({ where: { webhookId } });
      assert.equal(request.headers["webhook-id"], delivery.id);
      assert.equal(delivery.status, "SUCCEEDED");
      assert.equal(delivery.responseStatus, 204);
    } finally {
      await subject.close();
      await receiver.close();
    }
  });

  it("retries a 500 with the same webhook id until the receiver answers 200", async () => {
    const receiver = new Receiver(status(500, 200));
    const secret = generateWebhookSecret();
    const org = randomUUID();
    const webhookId = await webhook(org, await receiver.url, secret);
    const subject = dispatcher();
    try {
      await subject.handle(event(org));
      const [first, second] = await receiver.received(2);
      assert.ok(first && second);
      assert.equal(second.headers["webhook-id"], first.headers["webhook-id"]);
      verify(secret, first);
      verify(secret, second);
      await subject.drain();
      const delivery = await prisma.webhookDelivery.findFirstOrThrow({ where: { webhookId }, include: { attempts: { orderBy: { attempt: "asc" } } } });
      assert.equal(delivery.id, first.headers["webhook-id"]);
      assert.equal(delivery.status, "SUCCEEDED");
      assert.deepEqual(
        delivery.attempts.map((attempt) => attempt.responseStatus),
        [500, 200],
      );
      assert.equal(receiver.requests.length, 2);
    } finally {
      await subject.close();
      await receiver.close();
    }
  });

  it("refuses a private target once, as a final failure, without connecting to it (SSRF guard)", async () => {
    const receiver = new Receiver(status(204));
    const org = randomUUID();
    const webhookId = await webhook(org, await receiver.url, generateWebhookSecret());
    const subject = dispatcher({ agent: { allowPrivate: false, timeoutMs: 2000 } });
    try {
      await subject.handle(event(org));
      await subject.drain();
      const delivery = await prisma.webhookDelivery.findFirstOrThrow({ where: { webhookId }, include: { attempts: true } });
      assert.equal(delivery.status, "FAILED");
      assert.equal(delivery.attempts.length, 1);
      assert.equal(delivery.attempts[0]?.responseStatus, null);
      assert.match(delivery.attempts[0]?.error ?? "", /forbidden/);
      assert.equal(receiver.requests.length, 0);
    } finally {
      await subject.close();
      await receiver.close();
    }
  });

  it("disables the webhook on 410 and sends it nothing more", async () => {
    const receiver = new Receiver(status(410));
    const org = randomUUID();
    const webhookId = await webhook(org, await receiver.url, generateWebhookSecret());
    await enqueueDeliveries(prisma, event(org));
    await enqueueDeliveries(prisma, event(org));
    // One lease per webhook at a time, so the second delivery is still queued when the 410 comes.
    const subject = dispatcher({ perWebhook: 1 });
    try {
      await receiver.received(1);
      await subject.drain();
      await subject.handle(event(org));
      await subject.drain();
      assert.equal(receiver.requests.length, 1);
      assert.equal((await prisma.webhook.findUniqueOrThrow({ where: { id: webhookId } })).enabled, false);
      const deliveries = await prisma.webhookDelivery.findMany({ where: { webhookId } });
      assert.equal(deliveries.length, 2, "nothing is enqueued for a disabled webhook");
      assert.deepEqual(deliveries.map((delivery) => [delivery.status, delivery.responseStatus, delivery.attempt]).sort(), [
        ["FAILED", 410, 1],
        ["PENDING", null, 0],
      ]);
    } finally {
      await subject.close();
      await receiver.close();
    }
  });

  it("delivers an event handled twice once", async () => {
    const receiver = new Receiver(status(200));
    const org = randomUUID();
    const webhookId = await webhook(org, await receiver.url, generateWebhookSecret());
    const subject = dispatcher();
    try {
      const created = event(org);
      await subject.handle(created);
      await subject.handle(created);
      await Promise.all([subject.handle(created), subject.handle(created)]);
      await receiver.received(1);
      await subject.drain();
      assert.equal(receiver.requests.length, 1);
      assert.equal(await prisma.webhookDelivery.count({ where: { webhookId } }), 1);
    } finally {
      await subject.close();
      await receiver.close();
    }
  });

  it("keeps delivering to a healthy receiver while another never answers", async () => {
    const hanging = new Receiver(() => {});
    const healthy = new Receiver(status(200));
    const slowOrg = randomUUID();
    const slowWebhook = await webhook(slowOrg, await hanging.url, generateWebhookSecret());
    const org = randomUUID();
    const webhookId = await webhook(org, await healthy.url, generateWebhookSecret());
    const recorded: string[] = [];
    let healthyRecorded: () => void = () => {};
    const healthyDone = new Promise<void>((resolve) => {
      healthyRecorded = resolve;
    });
    // A webhook not known yet gets one attempt at a time, so the hanging one holds one slot of
    // four (and after slowAfterMs not even that); the hang outlasts the healthy delivery.
    const subject = dispatcher({
      concurrency: 4,
      agent: { allowPrivate: true, timeoutMs: 4000 },
      closeTimeoutMs: 100,
      onAttempt: (delivery) => {
        recorded.push(delivery.webhookId);
        if (delivery.webhookId === webhookId) healthyRecorded();
      },
    });
    try {
      for (let i = 0; i < 3; i++) await subject.handle(event(slowOrg));
      await hanging.received(1);
      await subject.handle(event(org));
      await healthyDone;
      assert.deepEqual(recorded, [webhookId], "no hanging attempt has finished");
      assert.equal(hanging.requests.length, 1, "one attempt at a time for a webhook not known to answer quickly");
      assert.equal((await prisma.webhookDelivery.findFirstOrThrow({ where: { webhookId } })).status, "SUCCEEDED");
      const stuck = await prisma.webhookDelivery.findMany({ where: { webhookId: slowWebhook } });
      assert.equal(stuck.length, 3);
      for (const delivery of stuck) {
        assert.equal(delivery.status, "PENDING");
        assert.equal(delivery.attempt, 0, "the hanging attempt is still in flight");
      }
      assert.equal(stuck.filter((delivery) => delivery.lockedUntil !== null).length, 1);
    } finally {
      await prisma.webhook.update({ where: { id: slowWebhook }, data: { enabled: false } });
      await subject.close();
      await hanging.close();
      await healthy.close();
    }
  });
});
