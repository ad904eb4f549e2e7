// Outgoing webhooks end to end: a mutation through the gateway commits an event to the outbox, the
// relay publishes it to Kafka, the integrations runtime's consumer (a group of its own) queues one
// delivery per matching webhook and the dispatcher POSTs it to a real receiver on loopback, signed
// so that the Standard Webhooks reference verifier accepts it with the secret createWebhook returned.
// Also: nothing crosses organisations or boards, a Kafka message replayed to the runtime's group
// makes no second delivery, a rotated secret signs next to the new one only for its overlap, and
// the in-process feed of `npm start` delivers with the same code.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { Webhook } from "standardwebhooks";
import { startPipeline } from "../events/pipeline.ts";
import { topicsOf } from "../events/kafka.ts";
import { MemoryEventStore } from "../events/streams/memory-store.ts";
import { startIntegrationsRuntime, type IntegrationsRuntime } from "../subgraphs/integrations/runtime/index.ts";
import { mintSecret, rotateSecret } from "../subgraphs/integrations/runtime/webhooks/secrets.ts";
import { registerWebhook, startWebhookListener } from "../scripts/webhooks-listen.ts";
import { startHarness, type Harness } from "./support/harness.ts";
import { startLivePipeline, type LivePipeline } from "./support/live.ts";
import { waitFor } from "./support/wait.ts";
import { type Received, Receiver, status } from "./support/webhook-receiver.ts";

const silent = pino({ level: "silent" });

function verify(secret: string, received: Received): { id: string; type: string; organizationId: string; boardId: string | null; data: Record<string, unknown> } {
  return new Webhook(secret).verify(received.body, received.headers as Record<string, string>) as ReturnType<typeof verify>;
}

async function startRuntime(harness: Harness): Promise<IntegrationsRuntime> {
  return startIntegrationsRuntime({
    prisma: harness.prisma,
    webhooks: harness.stack.webhooks,
    retrySchedule: [100, 200],
    dispatcher: { pollIntervalMs: 50, agent: { timeoutMs: 2_000 } },
    logger: silent,
  });
}

describe("webhook delivery through the event pipeline (Kafka)", () => {
  let harness: Harness;
  let runtime: IntegrationsRuntime;
  let pipeline: LivePipeline;
  const groupId = `test-integrations-${randomUUID()}`;
  let topicPrefix = "";
  const receiver = new Receiver(status(204));
  let ownerToken: string;

  /** A webhook row of `org` with a sealed secret (the API's own path is covered by the first test). */
  async function webhook(org: 0 | 1, path: string, rules: { events?: string[]; boardId?: string | null } = {}): Promise<{ id: string; secret: string }> {
    const organization = harness.seed.organizations[org];
    const { secret, sealed } = mintSecret(harness.stack.webhooks.keyRing);
    const row = await harness.prisma.webhook.create({
      data: {
        organizationId: organization.id,
        boardId: rules.boardId ?? null,
        url: `${await receiver.url}/${path}`,
        secret: sealed,
        events: rules.events ?? ["project.item.*"],
        createdById: organization.userIdsByRole.OWNER,
      },
    });
    return { id: row.id, secret };
  }

  async function createItem(org: 0 | 1, board: 0 | 1, name: string): Promise<string> {
    const organization = harness.seed.organizations[org];
    const target = organization.boards[board];
    const token = org === 0 ? ownerToken : await harness.token(1, "OWNER");
    const result = await harness.gql(token, `mutation($input: CreateItemInput!) { createItem(input: $input) { id } }`, {
      input: { boardId: target.id, groupId: target.groupIds[0], name },
    });
    assert.equal(result.body.errors, undefined, JSON.stringify(result.body.errors));
    const id = (result.body.data as { createItem: { id: string } }).createItem.id;
    return id;
  }

  /** The id of the outbox event that created `itemId`. */
  async function creationEvent(itemId: string): Promise<string> {
    const row = await harness.prisma.outboxEvent.findFirstOrThrow({ where: { aggregateId: itemId, eventType: "project.item.created" } });
    return row.id;
  }

  before(async () => {
    harness = await startHarness("webhookdelivery");
    // The seed's webhooks point at example.invalid: out of the way of these tests.
    await harness.prisma.webhook.updateMany({ data: { enabled: false } });
    ownerToken = await harness.token(0, "OWNER");
    runtime = await startRuntime(harness);
    pipeline = await startLivePipeline(harness, { consumers: [{ groupId, sink: runtime.sink }] });
    topicPrefix = pipeline.topicPrefix;
  });

  after(async () => {
    await pipeline?.dispose();
    await runtime?.close();
    await receiver.close();
    await harness?.dispose();
  });

  it("delivers an item created through the gateway, signed with the secret createWebhook returned", async () => {
    const created = await harness.gql(ownerToken, `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } secret } }`, {
      input: { url: `${await receiver.url}/api`, events: ["project.item.created"] },
    });
    assert.equal(created.body.errors, undefined, JSON.stringify(created.body.errors));
    const { secret } = (created.body.data as { createWebhook: { webhook: { id: string }; secret: string } }).createWebhook;
    assert.match(secret, /^whsec_/);

    const itemId = await createItem(0, 0, "Delivered item");
    const eventId = await creationEvent(itemId);
    const request = await receiver.first((received) => received.body.includes(eventId) && received.url.endsWith("/api"));
    const payload = verify(secret, request);
    assert.equal(payload.id, eventId);
    assert.equal(payload.type, "project.item.created");
    assert.equal(payload.organizationId, harness.seed.organizations[0].id);
    assert.equal(payload.boardId, harness.seed.organizations[0].boards[0].id);
    assert.equal(request.headers["x-sunday-event-type"], "project.item.created");
    assert.equal(request.headers["content-type"], "application/json");
  });

  it("never delivers another organisation's events, nor another board's to a board webhook", async () => {
    const acmeAll = await webhook(0, "acme-all");
    const acmeBoard1 = await webhook(0, "acme-board1", { boardId: harness.seed.organizations[0].boards[1].id });
    const globex = await webhook(1, "globex");

    const globexItem = await createItem(1, 0, "Globex item");
    const globexEvent = await creationEvent(globexItem);
    // Globex's own webhook receiving it shows the runtime has handled the event: every delivery of
    // an event is queued by one statement, so Acme's would exist by now if there were one.
    verify(globex.secret, await receiver.first((request) => request.body.includes(globexEvent) && request.url.endsWith("/globex")));
    const acmeItem = await createItem(0, 0, "Acme board 0 item");
    const acmeEvent = await creationEvent(acmeItem);
    verify(acmeAll.secret, await receiver.first((request) => request.body.includes(acmeEvent) && request.url.endsWith("/acme-all")));

    const rows = await harness.prisma.webhookDelivery.findMany({ where: { eventId: { in: [globexEvent, acmeEvent] } }, select: { webhookId: true, eventId: true } });
    const pairs = rows.map(
      (row) =>
        `${row.webhookId === acmeAll.id ? "acmeAll" : row.webhookId === acmeBoard1.id ? "acmeBoard1" : row.webhookId === globex.id ? "globex" : "other"}:${row.eventId === globexEvent ? "globex" : "acme"}`,
    );
    assert.deepEqual(pairs.filter((pair) => !pair.startsWith("other")).sort(), ["acmeAll:acme", "globex:globex"]);
    assert.equal(receiver.ofEvent(globexEvent).length, 1, "only Globex's webhook received Globex's event");
  });

  it("makes no second delivery when Kafka hands the runtime's group the same message again", async () => {
    const hook = await webhook(0, "replay", { events: ["project.item.created"] });
    const itemId = await createItem(0, 0, "Replayed item");
    const eventId = await creationEvent(itemId);
    await receiver.first((request) => request.body.includes(eventId) && request.url.endsWith("/replay"));

    // The same record again, as a producer retry or a rewound consumer would hand it over.
    const outbox = await harness.prisma.outboxEvent.findUniqueOrThrow({ where: { id: eventId } });
    const producer = pipeline.kafka.producer();
    await producer.connect();
    await producer.send({ topic: topicsOf(topicPrefix).of(outbox.topic), messages: [{ key: outbox.aggregateId, value: JSON.stringify(outbox.envelope) }] });
    await producer.disconnect();
    // A later event on the same key (same partition, after the replay) shows the replay was consumed.
    await harness.gql(ownerToken, `mutation($input: UpdateItemInput!) { updateItem(input: $input) { id } }`, {
      input: { id: itemId, expectedVersion: 1, name: "Replayed item, renamed" },
    });
    const renamed = await harness.prisma.outboxEvent.findFirstOrThrow({ where: { aggregateId: itemId, eventType: "project.item.updated" } });
    await waitFor("the rename to be handled", async () => (await harness.prisma.webhookDelivery.count({ where: { eventId: renamed.id } })) > 0);

    assert.equal(await harness.prisma.webhookDelivery.count({ where: { webhookId: hook.id, eventId } }), 1);
    assert.equal(receiver.ofEvent(eventId).filter((request) => request.url.endsWith("/replay")).length, 1);
  });

  it("signs with the old and the new secret during a rotation's overlap, then with the new one only", async () => {
    const hook = await webhook(0, "rotation", { events: ["project.item.created"] });
    const stored = await harness.prisma.webhook.findUniqueOrThrow({ where: { id: hook.id } });
    const rotation = rotateSecret(stored, harness.stack.webhooks.keyRing, new Date());
    await harness.prisma.webhook.update({ where: { id: hook.id }, data: rotation.data });

    const during = await creationEvent(await createItem(0, 0, "During the overlap"));
    const first = await receiver.first((request) => request.body.includes(during) && request.url.endsWith("/rotation"));
    verify(hook.secret, first);
    verify(rotation.secret, first);
    assert.equal(String(first.headers["webhook-signature"]).split(" ").length, 2);

    await harness.prisma.webhook.update({ where: { id: hook.id }, data: { previousSecretExpiresAt: new Date(Date.now() - 1000) } });
    const afterwards = await creationEvent(await createItem(0, 0, "After the overlap"));
    const second = await receiver.first((request) => request.body.includes(afterwards) && request.url.endsWith("/rotation"));
    verify(rotation.secret, second);
    assert.throws(() => verify(hook.secret, second));
  });
});

describe("webhook delivery on the in-process feed (npm start's)", () => {
  let harness: Harness;
  let runtime: IntegrationsRuntime;
  const receiver = new Receiver(status(200));

  before(async () => {
    harness = await startHarness("webhookinprocess");
    await harness.prisma.webhook.updateMany({ data: { enabled: false } });
    runtime = await startRuntime(harness);
  });

  after(async () => {
    await runtime?.close();
    await receiver.close();
    await harness?.dispose();
  });

  /** `npm start`'s feed: the relay hands committed events to the runtime in this process. */
  const inProcessFeed = () =>
    startPipeline({
      transport: "in-process",
      databaseUrl: harness.databaseUrl,
      appender: new MemoryEventStore(),
      relay: { pollIntervalMs: 50 },
      consumers: [{ groupId: "sunday-integrations", sink: runtime.sink }],
      logger: silent,
    });

  it("delivers what the relay hands the in-process publisher, with the same runtime", async () => {
    const organization = harness.seed.organizations[0];
    const { secret, sealed } = mintSecret(harness.stack.webhooks.keyRing);
    await harness.prisma.webhook.create({
      data: { organizationId: organization.id, url: `${await receiver.url}/in-process`, secret: sealed, events: ["project.item.*"], createdById: organization.userIdsByRole.OWNER },
    });
    const pipeline = await inProcessFeed();
    try {
      const board = organization.boards[0];
      const result = await harness.gql(await harness.token(0, "ADMIN"), `mutation($input: CreateItemInput!) { createItem(input: $input) { id } }`, {
        input: { boardId: board.id, groupId: board.groupIds[0], name: "In-process item" },
      });
      const itemId = (result.body.data as { createItem: { id: string } }).createItem.id;
      const request = await receiver.first((received) => received.body.includes(itemId));
      assert.equal(verify(secret, request).type, "project.item.created");
    } finally {
      await pipeline.close();
    }
  });

  it("webhooks:listen --token registers itself, verifies what it is sent and deletes its webhook when stopped", async () => {
    const lines: string[] = [];
    let printed: () => void = () => undefined;
    const listener = await startWebhookListener({
      port: 0,
      print: (line) => {
        lines.push(line);
        printed();
      },
    });
    const pipeline = await inProcessFeed();
    try {
      const token = await harness.token(0, "OWNER");
      const registered = await registerWebhook(harness.stack.gateway.url, token, listener.url, ["project.item.created"]);
      listener.useSecret(registered.secret);
      const board = harness.seed.organizations[0].boards[0];
      await harness.gql(token, `mutation($input: CreateItemInput!) { createItem(input: $input) { id } }`, {
        input: { boardId: board.id, groupId: board.groupIds[0], name: "Listened item" },
      });
      await new Promise<void>((resolve) => {
        printed = () => {
          if (lines.some((line) => line.includes("project.item.created"))) resolve();
        };
        printed();
      });
      assert.match(lines.find((line) => line.includes("project.item.created")) ?? "", /✓ verified/);
      await registered.remove();
      assert.equal((await harness.prisma.webhook.findUniqueOrThrow({ where: { id: registered.id } })).deletedAt instanceof Date, true);
    } finally {
      await pipeline.close();
      await listener.close();
    }
  });
});
