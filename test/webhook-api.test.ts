// The webhook API of the integrations subgraph, through the gateway (GraphQL and REST v1), and the
// OpenAPI `webhooks` section. What it promises: a webhook's secret is handed out by create and
// rotate only, stored sealed, and the rotated-out one keeps signing for a day; targets that are (or
// resolve to) loopback, private or link-local addresses are refused at creation unless private
// targets are allowed; testWebhook queues a `webhook.test` delivery and redeliverWebhookDelivery
// restarts a delivery's schedule; switching a webhook on clears what the runtime held against it
// and takes a suspended one over; deliveries list their attempts (batched); and every one of these
// is for OWNER and ADMIN of the webhook's organisation only, REST answering others 404.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { LookupAddress } from "node:dns";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import type { Role } from "../platform/identity.ts";
import { open } from "../subgraphs/integrations/runtime/webhooks/secret-box.ts";
import { EVENT_TYPE_HEADER, webhookHeaders } from "../subgraphs/integrations/runtime/webhooks/signature.ts";
import { DELIVERABLE_EVENT_TYPES } from "../subgraphs/integrations/src/event-filters.ts";
import { ephemeralWebhookSettings } from "../subgraphs/integrations/src/webhook-settings.ts";
import { requireWebhookTarget } from "../subgraphs/integrations/src/webhook-target.ts";
import { codes, startHarness, type GraphQLResult, type Harness } from "./support/harness.ts";
import { RestClient, assertProblem, nextLink, type RestResponse } from "./support/rest.ts";

// ajv-formats is CommonJS: under NodeNext its default export arrives as the module object.
const addFormats = addFormatsModule.default;

const WEBHOOK_FIELDS = "id url events enabled disabledReason suspendedReason previousSecretExpiresAt board { id } createdBy { id } version createdAt";
const ATTEMPT_FIELDS = "attempt responseStatus durationMs responseExcerpt error nextAttemptAt createdAt";
const DELIVERY_FIELDS = `id eventId eventType status attempt responseStatus error createdAt deliveredAt nextAttemptAt attempts { ${ATTEMPT_FIELDS} }`;

const CREATE = `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { ${WEBHOOK_FIELDS} } secret } }`;
const ROTATE = `mutation($input: RotateWebhookSecretInput!) { rotateWebhookSecret(input: $input) { webhook { ${WEBHOOK_FIELDS} } secret previousSecretExpiresAt } }`;
const TEST = `mutation($input: TestWebhookInput!) { testWebhook(input: $input) { ${DELIVERY_FIELDS} } }`;
const REDELIVER = `mutation($input: RedeliverWebhookDeliveryInput!) { redeliverWebhookDelivery(input: $input) { ${DELIVERY_FIELDS} } }`;
const SET_ENABLED = `mutation($input: SetWebhookEnabledInput!) { setWebhookEnabled(input: $input) { ${WEBHOOK_FIELDS} } }`;
const DELIVERIES = `query($id: ID!, $first: Int) { webhook(id: $id) { id deliveries(first: $first) { nodes { ${DELIVERY_FIELDS} } } } }`;

const DAY_MS = 24 * 3600 * 1000;
const SECRET = /^whsec_[A-Za-z0-9+/]+={0,2}$/;

interface WebhookNode {
  id: string;
  url: string;
  enabled: boolean;
  disabledReason: string | null;
  suspendedReason: string | null;
  previousSecretExpiresAt: string | null;
  createdBy: { id: string };
  version: number;
}

interface AttemptNode {
  attempt: number;
  responseStatus: number | null;
  durationMs: number;
  responseExcerpt: string | null;
  error: string | null;
  nextAttemptAt: string | null;
}

interface DeliveryNode {
  id: string;
  eventId: string;
  eventType: string;
  status: string;
  attempt: number;
  nextAttemptAt: string | null;
  attempts: AttemptNode[];
}

/** The data of a result that must have succeeded. */
function dataOf<T>(result: GraphQLResult, field: string): T {
  assert.equal(result.body.errors, undefined, JSON.stringify(result.body.errors));
  return (result.body.data as Record<string, T>)[field] as T;
}

/** The `whsec_` secret without its prefix: what must not appear in clear anywhere either. */
const keyOf = (secret: string) => secret.slice("whsec_".length);

describe("webhook API", () => {
  let harness: Harness;
  let rest: RestClient;
  let owner: string;
  let admin: string;
  const acme = () => harness.seed.organizations[0];

  before(async () => {
    harness = await startHarness("webhook_api", { itemsPerBoard: 2 });
    rest = await RestClient.connect(harness);
    owner = await harness.token(0, "OWNER");
    admin = await harness.token(0, "ADMIN");
  });
  after(() => harness?.dispose());

  async function createWebhook(token = owner, url = `http://127.0.0.1:9/${randomUUID()}`): Promise<{ webhook: WebhookNode; secret: string }> {
    return dataOf(await harness.gql(token, CREATE, { input: { url, events: ["project.item.*"] } }), "createWebhook");
  }

  /** A delivery row as the runtime leaves it, with `attempts` logged attempts. */
  async function delivery(webhookId: string, spec: { status: "PENDING" | "SUCCEEDED" | "FAILED" | "SKIPPED"; attempts?: number; payload?: string | null }) {
    const attempts = spec.attempts ?? 0;
    const eventId = randomUUID();
    const payload =
      spec.payload === undefined
        ? JSON.stringify({ id: eventId, type: "project.item.deleted", schemaVersion: 1, occurredAt: "2026-01-15T12:00:00.000Z", organizationId: acme().id, boardId: null, data: {} })
        : spec.payload;
    return harness.prisma.webhookDelivery.create({
      data: {
        organizationId: acme().id,
        webhookId,
        eventId,
        eventType: "project.item.deleted",
        status: spec.status,
        attempt: attempts,
        responseStatus: attempts > 0 ? 503 : null,
        error: spec.status === "SKIPPED" ? "its creator is no longer OWNER or ADMIN" : null,
        payload,
        nextAttemptAt: new Date("2026-01-15T12:00:00.000Z"),
        lockedUntil: spec.status === "PENDING" ? null : new Date("2026-01-15T12:01:00.000Z"),
        attempts: {
          create: Array.from({ length: attempts }, (_, index) => ({
            attempt: index + 1,
            responseStatus: 503,
            durationMs: 10 + index,
            responseExcerpt: `busy ${index + 1}`,
            error: null,
            nextAttemptAt: index + 1 < attempts ? new Date(Date.UTC(2026, 0, 15, 12, index + 1)) : null,
          })),
        },
      },
    });
  }

  describe("secrets", () => {
    it("returns a whsec_ secret once at creation, stores it sealed, and no field or route shows it again", async () => {
      const { webhook, secret } = await createWebhook();
      assert.match(secret, SECRET);
      assert.equal(Buffer.from(keyOf(secret), "base64").length, 32);
      const row = await harness.prisma.webhook.findUniqueOrThrow({ where: { id: webhook.id } });
      assert.ok(row.secret.startsWith("v1."), row.secret.slice(0, 10));
      assert.ok(!row.secret.includes(secret) && !row.secret.includes(keyOf(secret)), "not in clear in the database");
      assert.equal(open(row.secret, harness.stack.webhooks.keyRing), secret, "sealed with the configured key ring");
      assert.equal(row.previousSecret, null);
      assert.equal(webhook.previousSecretExpiresAt, null);

      const readBack = [
        (await harness.gql(owner, `query($id: ID!) { webhook(id: $id) { ${WEBHOOK_FIELDS} deliveries(first: 10) { nodes { ${DELIVERY_FIELDS} } } } }`, { id: webhook.id })).body,
        (await harness.gql(owner, `{ webhooks(first: 100) { nodes { ${WEBHOOK_FIELDS} } } }`)).body,
        (await rest.call("GET", `/api/v1/webhooks/${webhook.id}`, { token: owner })).body,
        (await rest.call("GET", "/api/v1/webhooks?limit=100", { token: owner })).body,
        (await rest.call("GET", `/api/v1/webhooks/${webhook.id}/deliveries`, { token: owner })).body,
        (await harness.prisma.outboxEvent.findMany({ where: { aggregateId: webhook.id } })).map((event) => event.envelope),
      ];
      for (const answer of readBack) assert.ok(!JSON.stringify(answer).includes(keyOf(secret)), JSON.stringify(answer).slice(0, 200));
      // No type but the two payloads of create and rotate has a field that could carry it.
      const introspection = await harness.gql(owner, `{ __schema { types { name fields { name } } } }`);
      const holders = (introspection.body.data as { __schema: { types: { name: string; fields: { name: string }[] | null }[] } }).__schema.types
        .filter((type) => type.name.includes("Webhook") && (type.fields ?? []).some((field) => /secret/i.test(field.name) && field.name !== "previousSecretExpiresAt"))
        .map((type) => type.name)
        .sort();
      assert.deepEqual(holders, ["CreatedWebhook", "RotatedWebhookSecret"]);
    });

    it("rotates: returns a new secret once, keeps the previous one sealed and signing for about 24 hours, and records webhook.secret_rotated", async () => {
      const { webhook, secret: first } = await createWebhook();
      const rotated = dataOf<{ webhook: WebhookNode; secret: string; previousSecretExpiresAt: string }>(
        await harness.gql(admin, ROTATE, { input: { id: webhook.id, expectedVersion: 1 } }),
        "rotateWebhookSecret",
      );
      assert.match(rotated.secret, SECRET);
      assert.notEqual(rotated.secret, first);
      assert.equal(rotated.webhook.version, 2);
      assert.equal(rotated.webhook.previousSecretExpiresAt, rotated.previousSecretExpiresAt);

      const row = await harness.prisma.webhook.findUniqueOrThrow({ where: { id: webhook.id } });
      const ring = harness.stack.webhooks.keyRing;
      assert.ok(row.secret.startsWith("v1.") && row.previousSecret?.startsWith("v1."));
      assert.equal(open(row.secret, ring), rotated.secret);
      assert.equal(open(row.previousSecret ?? "", ring), first);
      for (const value of [row.secret, row.previousSecret ?? ""]) {
        for (const secret of [first, rotated.secret]) assert.ok(!value.includes(keyOf(secret)), "no secret in clear");
      }
      // The overlap is a day from the rotation (both times the server's, taken in the same write).
      assert.equal(row.previousSecretExpiresAt?.toISOString(), rotated.previousSecretExpiresAt);
      const overlap = (row.previousSecretExpiresAt?.getTime() ?? 0) - row.updatedAt.getTime();
      assert.ok(Math.abs(overlap - DAY_MS) < 60_000, `overlap ${overlap} ms`);

      const events = await harness.prisma.outboxEvent.findMany({ where: { aggregateId: webhook.id, eventType: "webhook.secret_rotated" } });
      assert.equal(events.length, 1);
      const payload = JSON.stringify(events[0]?.envelope);
      assert.ok(!payload.includes(keyOf(first)) && !payload.includes(keyOf(rotated.secret)), payload);
    });

    it("refuses a stale expectedVersion with CONFLICT and keeps the secret", async () => {
      const { webhook } = await createWebhook();
      const before = await harness.prisma.webhook.findUniqueOrThrow({ where: { id: webhook.id } });
      const stale = await harness.gql(owner, ROTATE, { input: { id: webhook.id, expectedVersion: 7 } });
      assert.deepEqual(codes(stale), ["CONFLICT"]);
      const after = await harness.prisma.webhook.findUniqueOrThrow({ where: { id: webhook.id } });
      assert.deepEqual([after.secret, after.previousSecret, after.version], [before.secret, before.previousSecret, before.version]);
    });

    it("rotates a secret no key opens without an overlap, so rotation recovers a webhook whose key is gone", async () => {
      const { webhook } = await createWebhook();
      await harness.prisma.webhook.update({ where: { id: webhook.id }, data: { secret: "v1.retired.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" } });
      const rotated = dataOf<{ secret: string; previousSecretExpiresAt: string | null }>(await harness.gql(owner, ROTATE, { input: { id: webhook.id, expectedVersion: 1 } }), "rotateWebhookSecret");
      assert.equal(rotated.previousSecretExpiresAt, null);
      const row = await harness.prisma.webhook.findUniqueOrThrow({ where: { id: webhook.id } });
      assert.equal(open(row.secret, harness.stack.webhooks.keyRing), rotated.secret);
      assert.equal(row.previousSecret, null);
    });
  });

  describe("targets at creation, with private targets allowed (development)", () => {
    for (const url of ["http://127.0.0.1/hook", "http://localhost:8080/hook", "http://169.254.169.254/latest/meta-data", "http://[::1]/hook", "http://10.0.0.1/hook"]) {
      it(`accepts ${url}`, async () => {
        const { webhook } = await createWebhook(owner, url);
        assert.equal(webhook.url, new URL(url).toString());
      });
    }
  });

  describe("testWebhook", () => {
    it("queues a PENDING webhook.test delivery with a fresh event id, the envelope body and the request's correlation id, and writes no event", async () => {
      const { webhook } = await createWebhook();
      const outboxBefore = await harness.prisma.outboxEvent.count();
      const correlationId = `webhook-test-${randomUUID()}`;
      const response = await fetch(`${harness.stack.gateway.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${owner}`, "x-correlation-id": correlationId },
        body: JSON.stringify({ query: TEST, variables: { input: { id: webhook.id } } }),
      });
      const queued = dataOf<DeliveryNode>({ status: response.status, body: (await response.json()) as GraphQLResult["body"] }, "testWebhook");
      assert.equal(queued.status, "PENDING");
      assert.equal(queued.eventType, "webhook.test");
      assert.equal(queued.attempt, 0);
      assert.deepEqual(queued.attempts, []);
      assert.notEqual(queued.nextAttemptAt, null);

      // What a dispatcher does not change: the row's identity, body and correlation id.
      const row = await harness.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: queued.id } });
      assert.equal(row.webhookId, webhook.id);
      assert.equal(row.organizationId, acme().id);
      assert.equal(row.eventId, queued.eventId);
      assert.equal(row.correlationId, correlationId);
      const payload = JSON.parse(row.payload ?? "null") as Record<string, unknown>;
      assert.deepEqual(Object.keys(payload).sort(), ["boardId", "data", "id", "occurredAt", "organizationId", "schemaVersion", "type"]);
      assert.equal(payload.id, queued.eventId);
      assert.equal(payload.type, "webhook.test");
      assert.equal(payload.schemaVersion, 1);
      assert.equal(payload.organizationId, acme().id);
      assert.equal(payload.boardId, null);
      assert.equal((payload.data as { webhookId: string }).webhookId, webhook.id);
      assert.equal(typeof (payload.data as { message: unknown }).message, "string");
      assert.ok(!Number.isNaN(Date.parse(payload.occurredAt as string)));
      assert.equal(await harness.prisma.outboxEvent.count(), outboxBefore, "a test is no domain event");

      // Each test is its own event: a second one gets another id.
      const again = dataOf<DeliveryNode>(await harness.gql(owner, TEST, { input: { id: webhook.id } }), "testWebhook");
      assert.notEqual(again.eventId, queued.eventId);
    });

    it("refuses a disabled webhook, saying to enable it first, and a deleted one as not found", async () => {
      const { webhook } = await createWebhook();
      dataOf(await harness.gql(owner, SET_ENABLED, { input: { id: webhook.id, enabled: false, expectedVersion: 1 } }), "setWebhookEnabled");
      const disabled = await harness.gql(owner, TEST, { input: { id: webhook.id } });
      assert.deepEqual(codes(disabled), ["BAD_USER_INPUT"]);
      assert.match(disabled.body.errors?.[0]?.message ?? "", /enable it first/);
      const deleted = await harness.gql(owner, `mutation($input: DeleteWebhookInput!) { deleteWebhook(input: $input) { id } }`, { input: { id: webhook.id, expectedVersion: 2 } });
      dataOf(deleted, "deleteWebhook");
      assert.deepEqual(codes(await harness.gql(owner, TEST, { input: { id: webhook.id } })), ["NOT_FOUND"]);
      assert.equal(await harness.prisma.webhookDelivery.count({ where: { webhookId: webhook.id } }), 0);
    });
  });

  describe("redeliverWebhookDelivery", () => {
    it("makes a finished delivery PENDING again, due now, unleased, with its schedule restarted at its attempt count", async () => {
      const { webhook } = await createWebhook();
      // Disabled, so that no dispatcher claims the row while it is being checked: it waits.
      dataOf(await harness.gql(owner, SET_ENABLED, { input: { id: webhook.id, enabled: false, expectedVersion: 1 } }), "setWebhookEnabled");
      const failed = await delivery(webhook.id, { status: "FAILED", attempts: 3 });
      const redelivered = dataOf<DeliveryNode>(await harness.gql(admin, REDELIVER, { input: { webhookId: webhook.id, deliveryId: failed.id } }), "redeliverWebhookDelivery");
      const answeredBy = Date.now();
      assert.equal(redelivered.status, "PENDING");
      assert.equal(redelivered.attempt, 3);
      assert.deepEqual(
        redelivered.attempts.map((attempt) => attempt.attempt),
        [1, 2, 3],
        "earlier attempts stay in the log",
      );
      const row = await harness.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: failed.id } });
      assert.equal(row.status, "PENDING");
      assert.equal(row.retryBase, 3);
      assert.equal(row.lockedUntil, null);
      assert.ok(row.nextAttemptAt > failed.nextAttemptAt && row.nextAttemptAt.getTime() <= answeredBy, row.nextAttemptAt.toISOString());
      assert.equal(redelivered.nextAttemptAt, row.nextAttemptAt.toISOString());
      assert.deepEqual([row.eventId, row.payload, row.attempt], [failed.eventId, failed.payload, 3], "same event, body and attempt count");
    });

    it("redelivers SUCCEEDED and SKIPPED deliveries too", async () => {
      const { webhook } = await createWebhook();
      dataOf(await harness.gql(owner, SET_ENABLED, { input: { id: webhook.id, enabled: false, expectedVersion: 1 } }), "setWebhookEnabled");
      for (const status of ["SUCCEEDED", "SKIPPED"] as const) {
        const done = await delivery(webhook.id, { status, attempts: status === "SKIPPED" ? 0 : 1 });
        const redelivered = dataOf<DeliveryNode>(await harness.gql(owner, REDELIVER, { input: { webhookId: webhook.id, deliveryId: done.id } }), "redeliverWebhookDelivery");
        assert.equal(redelivered.status, "PENDING", status);
      }
    });

    it("refuses a PENDING delivery and one without a body, and changes neither", async () => {
      const { webhook } = await createWebhook();
      dataOf(await harness.gql(owner, SET_ENABLED, { input: { id: webhook.id, enabled: false, expectedVersion: 1 } }), "setWebhookEnabled");
      const pending = await delivery(webhook.id, { status: "PENDING", attempts: 1 });
      const bodiless = await delivery(webhook.id, { status: "FAILED", attempts: 1, payload: null });
      for (const [row, pattern] of [
        [pending, /PENDING already/],
        [bodiless, /no stored body/],
      ] as const) {
        const result = await harness.gql(owner, REDELIVER, { input: { webhookId: webhook.id, deliveryId: row.id } });
        assert.deepEqual(codes(result), ["BAD_USER_INPUT"]);
        assert.match(result.body.errors?.[0]?.message ?? "", pattern);
        assert.deepEqual(await harness.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: row.id } }), row);
      }
    });

    it("answers NOT_FOUND for a delivery of another webhook, and for an id that does not exist", async () => {
      const [{ webhook: one }, { webhook: other }] = [await createWebhook(), await createWebhook()];
      const theirs = await delivery(other.id, { status: "FAILED", attempts: 1 });
      for (const deliveryId of [theirs.id, randomUUID()]) {
        assert.deepEqual(codes(await harness.gql(owner, REDELIVER, { input: { webhookId: one.id, deliveryId } })), ["NOT_FOUND"]);
      }
      assert.equal((await harness.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: theirs.id } })).status, "FAILED");
    });
  });

  describe("setWebhookEnabled", () => {
    it("switching on clears the runtime's disabledReason and failure run, and keeps the creator of a webhook that is not suspended", async () => {
      const { webhook } = await createWebhook(owner);
      await harness.prisma.webhook.update({
        where: { id: webhook.id },
        data: { enabled: false, disabledReason: "410 Gone", consecutiveFailures: 12, failingSince: new Date("2026-01-10T00:00:00.000Z") },
      });
      const seen = dataOf<WebhookNode>(await harness.gql(owner, `query($id: ID!) { webhook(id: $id) { ${WEBHOOK_FIELDS} } }`, { id: webhook.id }), "webhook");
      assert.equal(seen.disabledReason, "410 Gone");
      const enabled = dataOf<WebhookNode>(await harness.gql(admin, SET_ENABLED, { input: { id: webhook.id, enabled: true, expectedVersion: 1 } }), "setWebhookEnabled");
      assert.equal(enabled.enabled, true);
      assert.equal(enabled.disabledReason, null);
      assert.deepEqual(enabled.createdBy, { id: acme().userIdsByRole.OWNER });
      const row = await harness.prisma.webhook.findUniqueOrThrow({ where: { id: webhook.id } });
      assert.deepEqual([row.consecutiveFailures, row.failingSince, row.disabledReason, row.createdById], [0, null, null, acme().userIdsByRole.OWNER]);
    });

    it("switching on a suspended webhook makes the admin doing it its creator and ends the suspension", async () => {
      const { webhook } = await createWebhook(owner);
      await harness.prisma.webhook.update({ where: { id: webhook.id }, data: { suspendedReason: "its creator is no longer OWNER or ADMIN" } });
      const seen = dataOf<WebhookNode>(await harness.gql(owner, `query($id: ID!) { webhook(id: $id) { ${WEBHOOK_FIELDS} } }`, { id: webhook.id }), "webhook");
      assert.equal(seen.suspendedReason, "its creator is no longer OWNER or ADMIN");
      const enabled = dataOf<WebhookNode>(await harness.gql(admin, SET_ENABLED, { input: { id: webhook.id, enabled: true, expectedVersion: 1 } }), "setWebhookEnabled");
      assert.deepEqual(enabled.createdBy, { id: acme().userIdsByRole.ADMIN });
      assert.equal(enabled.suspendedReason, null);
      assert.equal(enabled.version, 2);
      const events = await harness.prisma.outboxEvent.findMany({ where: { aggregateId: webhook.id, eventType: "webhook.enabled" } });
      assert.equal(events.length, 1);
    });

    it("switching off leaves a suspension and the creator alone", async () => {
      const { webhook } = await createWebhook(owner);
      await harness.prisma.webhook.update({ where: { id: webhook.id }, data: { suspendedReason: "its creator left" } });
      const disabled = dataOf<WebhookNode>(await harness.gql(admin, SET_ENABLED, { input: { id: webhook.id, enabled: false, expectedVersion: 1 } }), "setWebhookEnabled");
      assert.equal(disabled.suspendedReason, "its creator left");
      assert.deepEqual(disabled.createdBy, { id: acme().userIdsByRole.OWNER });
    });
  });

  describe("deliveries and their attempts", () => {
    it("lists each delivery's attempts oldest first, nextAttemptAt only while PENDING, and SKIPPED deliveries", async () => {
      const { webhook } = await createWebhook();
      dataOf(await harness.gql(owner, SET_ENABLED, { input: { id: webhook.id, enabled: false, expectedVersion: 1 } }), "setWebhookEnabled");
      const failed = await delivery(webhook.id, { status: "FAILED", attempts: 3 });
      const pending = await delivery(webhook.id, { status: "PENDING", attempts: 1 });
      const skipped = await delivery(webhook.id, { status: "SKIPPED" });
      const nodes = dataOf<{ deliveries: { nodes: DeliveryNode[] } }>(await harness.gql(owner, DELIVERIES, { id: webhook.id, first: 10 }), "webhook").deliveries.nodes;
      const byId = new Map(nodes.map((node) => [node.id, node]));
      assert.deepEqual(
        byId.get(failed.id)?.attempts.map((attempt) => [attempt.attempt, attempt.responseStatus, attempt.durationMs, attempt.responseExcerpt]),
        [
          [1, 503, 10, "busy 1"],
          [2, 503, 11, "busy 2"],
          [3, 503, 12, "busy 3"],
        ],
      );
      assert.equal(byId.get(failed.id)?.attempts[0]?.nextAttemptAt, "2026-01-15T12:01:00.000Z");
      assert.equal(byId.get(failed.id)?.attempts[2]?.nextAttemptAt, null);
      assert.equal(byId.get(failed.id)?.nextAttemptAt, null);
      assert.equal(byId.get(pending.id)?.nextAttemptAt, "2026-01-15T12:00:00.000Z");
      assert.equal(byId.get(skipped.id)?.status, "SKIPPED");
      assert.deepEqual(byId.get(skipped.id)?.attempts, []);
    });

    it("loads the attempts of every listed delivery in one query, however many there are", async () => {
      const counts: number[] = [];
      for (const size of [2, 8]) {
        const { webhook } = await createWebhook();
        dataOf(await harness.gql(owner, SET_ENABLED, { input: { id: webhook.id, enabled: false, expectedVersion: 1 } }), "setWebhookEnabled");
        for (let index = 0; index < size; index++) await delivery(webhook.id, { status: "FAILED", attempts: 2 });
        harness.sql.reset();
        const nodes = dataOf<{ deliveries: { nodes: DeliveryNode[] } }>(await harness.gql(owner, DELIVERIES, { id: webhook.id, first: 50 }), "webhook").deliveries.nodes;
        counts.push(harness.sql.count);
        assert.equal(nodes.length, size);
        assert.ok(nodes.every((node) => node.attempts.length === 2));
      }
      assert.equal(counts[0], counts[1], `SQL statements for 2 and 8 deliveries: ${counts.join(", ")}`);
    });
  });

  describe("REST v1", () => {
    it("pages GET /webhooks/{id}/deliveries newest first with attempts, and redelivers one", async () => {
      const { webhook } = await createWebhook();
      dataOf(await harness.gql(owner, SET_ENABLED, { input: { id: webhook.id, enabled: false, expectedVersion: 1 } }), "setWebhookEnabled");
      const made = [];
      for (let index = 0; index < 3; index++) made.push(await delivery(webhook.id, { status: "FAILED", attempts: 2 }));
      const seen: { id: string; attempts: AttemptNode[] }[] = [];
      let path: string | null = `/api/v1/webhooks/${webhook.id}/deliveries?limit=2`;
      let pages = 0;
      while (path) {
        const page = await rest.call("GET", path, { token: owner });
        assert.equal(page.status, 200);
        seen.push(...(page.body as { data: { id: string; attempts: AttemptNode[] }[] }).data);
        path = nextLink(page);
        pages += 1;
      }
      assert.equal(pages, 2);
      assert.deepEqual(
        seen.map((entry) => entry.id),
        made.map((row) => row.id).reverse(),
      );
      assert.ok(seen.every((entry) => entry.attempts.length === 2));

      const target = made[0]?.id ?? "";
      const redelivered = await rest.call("POST", `/api/v1/webhooks/${webhook.id}/deliveries/${target}/redeliver`, { token: owner });
      assert.equal(redelivered.status, 200);
      assert.equal((redelivered.body as { status: string }).status, "PENDING");
      const again = assertProblem(await rest.call("POST", `/api/v1/webhooks/${webhook.id}/deliveries/${target}/redeliver`, { token: owner }), 422, "BAD_USER_INPUT");
      assert.deepEqual(
        again.errors?.map((error) => error.field),
        ["deliveryId"],
      );
      assertProblem(await rest.call("POST", `/api/v1/webhooks/${webhook.id}/deliveries/${randomUUID()}/redeliver`, { token: owner }), 404, "NOT_FOUND");
    });

    it("tests, switches off and on, and rotates the secret (If-Match) of a webhook", async () => {
      const created = await rest.call("POST", "/api/v1/webhooks", { token: owner, json: { url: "http://127.0.0.1:9/rest", events: ["comment.added"] } });
      assert.equal(created.status, 201);
      const { webhook, secret } = created.body as { webhook: WebhookNode; secret: string };

      const tested = await rest.call("POST", `/api/v1/webhooks/${webhook.id}/test`, { token: owner });
      assert.equal(tested.status, 200);
      assert.equal((tested.body as DeliveryNode).eventType, "webhook.test");

      const off = await rest.call("PATCH", `/api/v1/webhooks/${webhook.id}`, { token: owner, json: { enabled: false }, headers: { "if-match": '"1"' } });
      assert.equal(off.status, 200);
      assert.equal((off.body as WebhookNode).enabled, false);
      assert.equal(off.headers.get("etag"), '"2"');
      const refused = assertProblem(await rest.call("POST", `/api/v1/webhooks/${webhook.id}/test`, { token: owner }), 422, "BAD_USER_INPUT");
      assert.match(refused.detail, /enable it first/);
      const on = await rest.call("PATCH", `/api/v1/webhooks/${webhook.id}`, { token: owner, json: { enabled: true } });
      assert.equal((on.body as WebhookNode).enabled, true);
      assertProblem(await rest.call("PATCH", `/api/v1/webhooks/${webhook.id}`, { token: owner, json: {} }), 422, "BAD_USER_INPUT");

      assertProblem(await rest.call("POST", `/api/v1/webhooks/${webhook.id}/rotate-secret`, { token: owner, headers: { "if-match": '"1"' } }), 412, "PRECONDITION_FAILED");
      const rotated = await rest.call("POST", `/api/v1/webhooks/${webhook.id}/rotate-secret`, { token: owner, headers: { "if-match": '"3"' } });
      assert.equal(rotated.status, 200);
      const body = rotated.body as { webhook: WebhookNode; secret: string; previousSecretExpiresAt: string };
      assert.match(body.secret, SECRET);
      assert.notEqual(body.secret, secret);
      assert.equal(body.webhook.version, 4);
      assert.equal(body.webhook.previousSecretExpiresAt, body.previousSecretExpiresAt);
      // Without If-Match the current version is read first, as for the other versioned writes.
      const unconditional = await rest.call("POST", `/api/v1/webhooks/${webhook.id}/rotate-secret`, { token: owner });
      assert.equal(unconditional.status, 200);
      assert.equal((unconditional.body as { webhook: WebhookNode }).webhook.version, 5);
    });
  });

  describe("who may", () => {
    const DENIED: readonly [0 | 1, Role][] = [
      [0, "MEMBER"],
      [0, "VIEWER"],
      [0, "GUEST"],
      [1, "OWNER"],
      [1, "ADMIN"],
    ];

    /** Everything the denied calls could change. */
    async function snapshot(webhookId: string) {
      const [webhook, deliveries, outbox] = await Promise.all([
        harness.prisma.webhook.findUniqueOrThrow({ where: { id: webhookId } }),
        harness.prisma.webhookDelivery.findMany({ where: { webhookId }, orderBy: { id: "asc" } }),
        harness.prisma.outboxEvent.count(),
      ]);
      return { webhook, deliveries, outbox };
    }

    it("denies rotate, test, redeliver and switching on to MEMBER, VIEWER, GUEST (FORBIDDEN) and another organisation's admins (NOT_FOUND), changing nothing", async () => {
      const { webhook } = await createWebhook();
      dataOf(await harness.gql(owner, SET_ENABLED, { input: { id: webhook.id, enabled: false, expectedVersion: 1 } }), "setWebhookEnabled");
      const failed = await delivery(webhook.id, { status: "FAILED", attempts: 1 });
      await harness.prisma.webhook.update({ where: { id: webhook.id }, data: { enabled: true, suspendedReason: "its creator left" } });
      const before = await snapshot(webhook.id);
      const calls: [string, string, Record<string, unknown>][] = [
        ["rotateWebhookSecret", ROTATE, { input: { id: webhook.id, expectedVersion: 2 } }],
        ["testWebhook", TEST, { input: { id: webhook.id } }],
        ["redeliverWebhookDelivery", REDELIVER, { input: { webhookId: webhook.id, deliveryId: failed.id } }],
        ["setWebhookEnabled", SET_ENABLED, { input: { id: webhook.id, enabled: true, expectedVersion: 2 } }],
      ];
      for (const [org, role] of DENIED) {
        const token = await harness.token(org, role);
        for (const [name, query, variables] of calls) {
          const result = await harness.gql(token, query, variables);
          assert.deepEqual(codes(result), [org === 0 ? "FORBIDDEN" : "NOT_FOUND"], `${name} as ${role} of org ${org}`);
          assert.equal(result.body.data, null, `${name} as ${role} of org ${org}`);
          assert.doesNotMatch(JSON.stringify(result.body), /whsec_/);
        }
        const read = await harness.gql(token, DELIVERIES, { id: webhook.id, first: 10 });
        assert.deepEqual(read.body, { data: { webhook: null } }, `deliveries as ${role} of org ${org}`);
      }
      assert.deepEqual(await snapshot(webhook.id), before);
    });

    it("answers every new REST route 404 to them, as for a webhook that does not exist, changing nothing", async () => {
      const { webhook } = await createWebhook();
      dataOf(await harness.gql(owner, SET_ENABLED, { input: { id: webhook.id, enabled: false, expectedVersion: 1 } }), "setWebhookEnabled");
      const failed = await delivery(webhook.id, { status: "FAILED", attempts: 1 });
      await harness.prisma.webhook.update({ where: { id: webhook.id }, data: { enabled: true } });
      const before = await snapshot(webhook.id);
      const routes = (id: string, deliveryId: string): [string, string, unknown][] => [
        ["GET", `/api/v1/webhooks/${id}/deliveries`, undefined],
        ["POST", `/api/v1/webhooks/${id}/deliveries/${deliveryId}/redeliver`, undefined],
        ["POST", `/api/v1/webhooks/${id}/test`, undefined],
        ["POST", `/api/v1/webhooks/${id}/rotate-secret`, undefined],
        ["PATCH", `/api/v1/webhooks/${id}`, { enabled: true }],
      ];
      for (const [org, role] of DENIED) {
        const token = await harness.token(org, role);
        const missing = randomUUID();
        const twins = routes(missing, randomUUID());
        for (const [index, [method, path, json]] of routes(webhook.id, failed.id).entries()) {
          const response: RestResponse = await rest.call(method, path, { token, json });
          const problem = assertProblem(response, 404, "NOT_FOUND");
          assert.doesNotMatch(response.text, /127\.0\.0\.1|whsec_/, `${method} ${path} as ${role}`);
          const [twinMethod, twinPath, twinJson] = twins[index] ?? assert.fail("no twin");
          const twin = assertProblem(await rest.call(twinMethod, twinPath, { token, json: twinJson }), 404, "NOT_FOUND");
          assert.equal(problem.detail.replace(webhook.id, missing), twin.detail, `${method} ${path} as ${role} of org ${org}: the answer must not reveal that it exists`);
        }
      }
      assert.deepEqual(await snapshot(webhook.id), before);
    });
  });

  describe("the OpenAPI webhooks section", () => {
    const section = () =>
      rest.document.webhooks as Record<string, { post: { parameters: { $ref?: string; name?: string; schema?: unknown }[]; requestBody: { content: Record<string, { schema: unknown }> } } }>;

    it("has one entry per event type a webhook can receive, and webhook.test", () => {
      assert.deepEqual(Object.keys(section()).sort(), [...DELIVERABLE_EVENT_TYPES, "webhook.test"].sort());
    });

    it("documents the headers the runtime signs, and a signed test delivery conforms to its entry", async () => {
      const { webhook, secret } = await createWebhook();
      const queued = dataOf<DeliveryNode>(await harness.gql(owner, TEST, { input: { id: webhook.id } }), "testWebhook");
      const row = await harness.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: queued.id } });
      const body = row.payload ?? "";
      const headers = webhookHeaders({ id: row.eventId, timestamp: 1_767_000_000, body, eventType: row.eventType }, [secret]);

      const ajv = new Ajv2020({ strict: false, allErrors: true });
      addFormats(ajv);
      ajv.addSchema({ ...rest.document, $id: "https://sunday.test/openapi.json" });
      const entry = section()["webhook.test"]?.post;
      assert.ok(entry);
      const validateBody = ajv.compile({ $ref: "https://sunday.test/openapi.json#/webhooks/webhook.test/post/requestBody/content/application~1json/schema" });
      assert.ok(validateBody(JSON.parse(body)), JSON.stringify(validateBody.errors));

      const components = (rest.document.components as { parameters: Record<string, { name: string; schema: unknown }> }).parameters;
      const parameters = entry.parameters.map((parameter) => (parameter.$ref ? components[parameter.$ref.split("/").at(-1) ?? ""] : parameter) as { name: string; schema: unknown });
      assert.deepEqual(parameters.map((parameter) => parameter.name).sort(), ["webhook-id", "webhook-signature", "webhook-timestamp", EVENT_TYPE_HEADER].sort());
      for (const parameter of parameters) {
        const value = (headers as unknown as Record<string, string>)[parameter.name];
        assert.ok(value !== undefined, parameter.name);
        assert.ok(ajv.validate(parameter.schema as object, value), `${parameter.name}: ${value} ${JSON.stringify(ajv.errors)}`);
      }
      // Both signatures of a rotation's overlap still match the documented form.
      const twice = webhookHeaders({ id: row.eventId, timestamp: 1_767_000_000, body, eventType: row.eventType }, [secret, secret]);
      const signature = parameters.find((parameter) => parameter.name === "webhook-signature");
      assert.ok(ajv.validate(signature?.schema as object, twice["webhook-signature"]));
    });

    it("offers every schema version of a type as one of its forms, each with the contract's data schema", () => {
      const updated = section()["project.item.updated"]?.post.requestBody.content["application/json"]?.schema as { oneOf?: { $ref: string }[] };
      assert.deepEqual(
        updated.oneOf?.map((form) => form.$ref.split("/").at(-1)),
        ["ProjectItemUpdatedEventV1", "ProjectItemUpdatedEventV2"],
      );
      const v2 = (rest.document.components as { schemas: Record<string, { properties: Record<string, { const?: unknown }> }> }).schemas.ProjectItemUpdatedEventV2;
      assert.equal(v2?.properties.schemaVersion?.const, 2);
      assert.equal(v2?.properties.type?.const, "project.item.updated");
    });
  });
});

describe("webhook targets at creation, with private targets refused (production)", () => {
  let harness: Harness;
  let rest: RestClient;
  let owner: string;

  before(async () => {
    harness = await startHarness("webhook_api_ssrf", { itemsPerBoard: 2, webhooks: ephemeralWebhookSettings({ allowPrivateTargets: false }) });
    rest = await RestClient.connect(harness);
    owner = await harness.token(0, "OWNER");
  });
  after(() => harness?.dispose());

  const REFUSED: readonly [string, RegExp][] = [
    ["http://127.0.0.1/hook", /loopback/],
    ["http://localhost:8080/hook", /localhost resolves to .*loopback/],
    ["http://169.254.169.254/latest/meta-data", /link-local/],
    ["http://[::1]/hook", /loopback/],
    ["http://10.0.0.1/hook", /private/],
  ];

  for (const [url, reason] of REFUSED) {
    it(`refuses ${url} with BAD_USER_INPUT naming url, over GraphQL and as a 422 over REST, and stores nothing`, async () => {
      const before = await harness.prisma.webhook.count();
      const result = await harness.gql(owner, CREATE, { input: { url, events: ["project.item.*"] } });
      assert.deepEqual(codes(result), ["BAD_USER_INPUT"]);
      const error = result.body.errors?.[0] as { message: string; extensions?: { field?: string } };
      assert.equal(error.extensions?.field, "url");
      assert.match(error.message, reason);
      const problem = assertProblem(await rest.call("POST", "/api/v1/webhooks", { token: owner, json: { url, events: ["project.item.*"] } }), 422, "BAD_USER_INPUT");
      assert.deepEqual(
        problem.errors?.map((entry) => entry.field),
        ["url"],
      );
      assert.equal(await harness.prisma.webhook.count(), before);
    });
  }

  it("accepts a public address", async () => {
    const created = dataOf<{ webhook: WebhookNode }>(await harness.gql(owner, CREATE, { input: { url: "http://93.184.216.34/hook", events: ["project.item.*"] } }), "createWebhook");
    assert.equal(created.webhook.url, "http://93.184.216.34/hook");
  });
});

describe("requireWebhookTarget", () => {
  const production = ephemeralWebhookSettings({ allowPrivateTargets: false, requireHttps: true });
  const resolving =
    (...addresses: string[]) =>
    async (): Promise<LookupAddress[]> =>
      addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  const refusal = async (url: string, resolve = resolving("93.184.216.34")) => {
    const error = await requireWebhookTarget(url, production, resolve).then(
      () => assert.fail(`${url} was accepted`),
      (caught: unknown) => caught as { message: string; extensions: { code: string; field: string } },
    );
    assert.deepEqual([error.extensions.code, error.extensions.field], ["BAD_USER_INPUT", "url"]);
    return error.message;
  };

  it("requires https when the settings say so", async () => {
    assert.match(await refusal("http://hooks.partner.example/x"), /https is required/);
    assert.equal(await requireWebhookTarget("https://hooks.partner.example/x", production, resolving("93.184.216.34")), "https://hooks.partner.example/x");
  });

  it("refuses a name with any forbidden address among its answers, and one that does not resolve", async () => {
    assert.match(await refusal("https://mixed.partner.example/x", resolving("93.184.216.34", "192.168.1.10")), /192\.168\.1\.10 is a private address/);
    assert.match(await refusal("https://mapped.partner.example/x", resolving("::ffff:127.0.0.1")), /loopback/);
    const missing = async () => {
      throw Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" });
    };
    assert.match(await refusal("https://nowhere.partner.example/x", missing), /does not resolve \(ENOTFOUND\)/);
    assert.match(await refusal("https://empty.partner.example/x", resolving()), /does not resolve/);
  });

  it("refuses other schemes and credentials in the URL", async () => {
    assert.match(await refusal("ftp://hooks.partner.example/x"), /scheme ftp: is not allowed/);
    assert.match(await refusal("https://user:pass@hooks.partner.example/x"), /credentials/);
    assert.match(await refusal("not a url"), /not a valid URL/);
  });
});
