import { randomUUID } from "node:crypto";
import { DateTimeResolver } from "graphql-scalars";
import type { Resolvers } from "./generated/resolvers.ts";
import type { IntegrationsContext } from "./context.ts";
import type { Identity } from "../../../platform/identity.ts";
import type { Tx } from "../../../platform/db.ts";
import type { Prisma } from "../../../generated/prisma/client.ts";
import type { WebhookDeliveryModel, WebhookModel } from "../../../generated/prisma/models.ts";
import { requireAdmin, requireIdentity } from "../../shared/authorization.ts";
import { badInput, notFound } from "../../shared/errors.ts";
import { recordEvent, requestOrigin, type EventSource } from "../../shared/outbox.ts";
import { transactionRetryingConflicts } from "../../shared/write-conflict.ts";
import { versionedWrite } from "../../shared/versioned-write.ts";
import { dateKey, keysetAfter, pageRequest, toConnection } from "../../shared/pagination.ts";
import { BoundedJSON, isId, requireId, requireText, requireVersion } from "../../shared/validation.ts";
import {
  integrationsOfBoard,
  requireWebhookReader,
  seesSettings,
  settingOf,
  visibleIntegration,
  visibleIntegrations,
  visibleIntegrationsWhere,
} from "./access.ts";
import { requireEventFilters } from "./event-filters.ts";
import { requireConfig } from "./config.ts";
import { requireWebhookTarget } from "./webhook-target.ts";
import { apiUsage } from "./usage.ts";
import { mintSecret, rotateSecret } from "../runtime/webhooks/secrets.ts";
import { SecretBoxError } from "../runtime/webhooks/secret-box.ts";
import type { WebhookPayload } from "../runtime/webhooks/queue.ts";

function origin(context: IntegrationsContext): EventSource {
  return requestOrigin(context, "integrations");
}

async function requireBoard(context: IntegrationsContext, boardId: string | null | undefined): Promise<string | null> {
  if (boardId == null) return null;
  const id = requireId(boardId, "boardId");
  if (!(await context.loaders.board.load(id))) throw notFound("Board", id);
  return id;
}

/** A versioned write of a live webhook of the caller's organisation (the event is the caller's to name). */
function liveWebhook(caller: Identity, id: string, expectedVersion: number, data: Prisma.WebhookUpdateManyMutationInput) {
  const live = { organizationId: caller.organizationId, deletedAt: null };
  return { type: "Webhook", id, expectedVersion, where: live, data, current: { id, ...live } };
}

/** A webhook of the caller's organisation that is not deleted, or NOT_FOUND (as for an id that does not exist). */
async function requireLiveWebhook(tx: Tx, caller: Identity, id: string): Promise<WebhookModel> {
  const webhook = await tx.webhook.findFirst({ where: { id, organizationId: caller.organizationId, deletedAt: null } });
  if (!webhook) throw notFound("Webhook", id);
  return webhook;
}

/**
 * A rotation of the stored secret. A current secret that no key of the ring opens (its key was
 * lost, or the row holds something that was never sealed) cannot keep signing anyway: the new one
 * then replaces it without an overlap, which makes rotating the way out of that state.
 */
function rotation(stored: Pick<WebhookModel, "secret">, context: IntegrationsContext, now: Date) {
  try {
    return rotateSecret(stored, context.webhooks.keyRing, now);
  } catch (error) {
    if (!(error instanceof SecretBoxError)) throw error;
    const { secret, sealed } = mintSecret(context.webhooks.keyRing);
    return { secret, data: { secret: sealed, previousSecret: null, previousSecretExpiresAt: null } };
  }
}

/** The event type of test deliveries: not a domain event (nothing is recorded in the outbox), only sent. */
const TEST_EVENT_TYPE = "webhook.test";

/** A test delivery's body, in the envelope every delivery has (queue.ts webhookPayload). */
function testPayload(webhook: WebhookModel, eventId: string, now: Date): WebhookPayload {
  return {
    id: eventId,
    type: TEST_EVENT_TYPE,
    schemaVersion: 1,
    occurredAt: now.toISOString(),
    organizationId: webhook.organizationId,
    boardId: null,
    data: { webhookId: webhook.id, message: "A test delivery from Sunday. If your endpoint verified its signature, it is ready for events." },
  };
}

/** Redelivery is refused for these (BAD_USER_INPUT naming deliveryId), with the reason. */
function redeliveryProblem(delivery: WebhookDeliveryModel): string | null {
  if (delivery.status === "PENDING")
    return `WebhookDelivery ${delivery.id} is PENDING already: it will be attempted at ${delivery.nextAttemptAt.toISOString()}`;
  if (delivery.payload === null) return `WebhookDelivery ${delivery.id} has no stored body to send again (it is older than the delivery queue)`;
  return null;
}

export const resolvers: Resolvers = {
  DateTime: DateTimeResolver,
  JSON: BoundedJSON,

  Query: {
    apiUsage: (_parent, args, context) => apiUsage(context, args),
    async integrations(_parent, args, context) {
      const page = pageRequest(args);
      const rows = await context.prisma.integration.findMany({
        where: {
          ...(await visibleIntegrationsWhere(context)),
          AND: keysetAfter<Prisma.IntegrationWhereInput>("createdAt", "asc", page.after, dateKey),
        },
        orderBy: [{ createdAt: "asc" }, { id: "asc" }],
        take: page.size + 1,
      });
      return toConnection(rows, page, (row) => ({ key: row.createdAt.toISOString(), id: row.id }));
    },
    integration: async (_parent, { id }, context) => visibleIntegration(context, await context.loaders.integration.load(requireId(id, "id"))),
    async webhooks(_parent, args, context) {
      const page = pageRequest(args);
      if (!seesSettings(context)) return toConnection([], page, (row: WebhookModel) => ({ key: row.createdAt.toISOString(), id: row.id }));
      const rows = await context.prisma.webhook.findMany({
        where: {
          organizationId: requireIdentity(context.identity).organizationId,
          deletedAt: null,
          AND: keysetAfter<Prisma.WebhookWhereInput>("createdAt", "asc", page.after, dateKey),
        },
        orderBy: [{ createdAt: "asc" }, { id: "asc" }],
        take: page.size + 1,
      });
      return toConnection(rows, page, (row) => ({ key: row.createdAt.toISOString(), id: row.id }));
    },
    webhook: (_parent, { id }, context) => {
      const webhookId = requireId(id, "id");
      return seesSettings(context) ? context.loaders.webhook.load(webhookId) : null;
    },
  },

  Mutation: {
    async enableIntegration(_parent, { input }, context) {
      const caller = requireAdmin(context.identity);
      const boardId = await requireBoard(context, input.boardId);
      const name = input.name == null ? input.type.toLowerCase() : requireText(input.name, "name", { max: 200 });
      const config = requireConfig(input.config);
      return transactionRetryingConflicts(context.prisma, async (tx) => {
        const existing = await tx.integration.findFirst({
          where: { organizationId: caller.organizationId, type: input.type, boardId },
        });
        const integration = existing
          ? await tx.integration.update({
              where: { id: existing.id },
              data: { enabled: true, name, config, version: { increment: 1 } },
            })
          : await tx.integration.create({
              data: { organizationId: caller.organizationId, type: input.type, boardId, name, config, enabled: true, createdById: caller.userId },
            });
        await recordEvent(tx, origin(context), {
          eventType: "integration.enabled",
          aggregateType: "Integration",
          aggregateId: integration.id,
          version: integration.version,
          data: { integrationId: integration.id, type: integration.type, boardId },
        });
        return integration;
      });
    },

    async disableIntegration(_parent, { input }, context) {
      const caller = requireAdmin(context.identity);
      const id = requireId(input.id, "id");
      const expectedVersion = requireVersion(input.expectedVersion);
      return context.prisma.$transaction(async (tx) => {
        return versionedWrite(tx, origin(context), tx.integration, {
          type: "Integration",
          id,
          expectedVersion,
          where: { organizationId: caller.organizationId },
          data: { enabled: false },
          current: { id, organizationId: caller.organizationId },
          event: (integration) => ({
            eventType: "integration.disabled",
            data: { integrationId: id, type: integration.type, boardId: integration.boardId },
          }),
        });
      });
    },

    async createWebhook(_parent, { input }, context) {
      const caller = requireAdmin(context.identity);
      // The URL first, as the fields come: a request wrong in several places is told about the first.
      const url = await requireWebhookTarget(input.url, context.webhooks);
      const events = requireEventFilters(input.events);
      const boardId = await requireBoard(context, input.boardId);
      const { secret, sealed } = mintSecret(context.webhooks.keyRing);
      return context.prisma.$transaction(async (tx) => {
        const webhook = await tx.webhook.create({
          data: { organizationId: caller.organizationId, boardId, url, secret: sealed, events, createdById: caller.userId },
        });
        await recordEvent(tx, origin(context), {
          eventType: "webhook.created",
          aggregateType: "Webhook",
          aggregateId: webhook.id,
          version: webhook.version,
          // webhook.created v1 requires the URL (events/contracts/catalog.ts); dropping it needs a v2.
          data: { webhookId: webhook.id, url, events: webhook.events, boardId },
        });
        return { webhook, secret };
      });
    },

    async setWebhookEnabled(_parent, { input }, context) {
      const caller = requireAdmin(context.identity);
      const id = requireId(input.id, "id");
      const expectedVersion = requireVersion(input.expectedVersion);
      // Switching on is an admin's decision to have it deliver: what the runtime held against it goes.
      const data: Prisma.WebhookUpdateManyMutationInput = input.enabled
        ? { enabled: true, disabledReason: null, consecutiveFailures: 0, failingSince: null }
        : { enabled: false };
      return context.prisma.$transaction(async (tx) => {
        const webhook = await versionedWrite(tx, origin(context), tx.webhook, {
          ...liveWebhook(caller, id, expectedVersion, data),
          event: () => ({ eventType: input.enabled ? "webhook.enabled" : "webhook.disabled", data: { webhookId: id } }),
        });
        // The row is locked by the write above, so the suspension seen here cannot change under us.
        // Deliveries act on the creator's authority: taking a suspended webhook over makes it this admin's.
        if (!input.enabled || webhook.suspendedReason === null) return webhook;
        return tx.webhook.update({ where: { id }, data: { createdById: caller.userId, suspendedReason: null } });
      });
    },

    async rotateWebhookSecret(_parent, { input }, context) {
      const caller = requireAdmin(context.identity);
      const id = requireId(input.id, "id");
      const expectedVersion = requireVersion(input.expectedVersion);
      return context.prisma.$transaction(async (tx) => {
        const stored = await requireLiveWebhook(tx, caller, id);
        // Computed from the row as read; the versioned write below refuses it if the row moved on since.
        const rotated = rotation(stored, context, new Date());
        const webhook = await versionedWrite(tx, origin(context), tx.webhook, {
          ...liveWebhook(caller, id, expectedVersion, rotated.data),
          event: () => ({ eventType: "webhook.secret_rotated", data: { webhookId: id } }),
        });
        return { webhook, secret: rotated.secret, previousSecretExpiresAt: webhook.previousSecretExpiresAt };
      });
    },

    async testWebhook(_parent, { input }, context) {
      const caller = requireAdmin(context.identity);
      const id = requireId(input.id, "id");
      const webhook = await requireLiveWebhook(context.prisma, caller, id);
      if (!webhook.enabled) throw badInput(`Webhook ${id} is disabled: enable it first (setWebhookEnabled)`, "id");
      const eventId = randomUUID();
      // Straight into the delivery queue: a test is no domain event, so it has no outbox row or contract.
      return context.prisma.webhookDelivery.create({
        data: {
          organizationId: webhook.organizationId,
          webhookId: webhook.id,
          eventId,
          eventType: TEST_EVENT_TYPE,
          payload: JSON.stringify(testPayload(webhook, eventId, new Date())),
          correlationId: context.correlationId.slice(0, 200),
        },
      });
    },

    async redeliverWebhookDelivery(_parent, { input }, context) {
      const caller = requireAdmin(context.identity);
      const webhookId = requireId(input.webhookId, "webhookId");
      const deliveryId = requireId(input.deliveryId, "deliveryId");
      return context.prisma.$transaction(async (tx) => {
        await requireLiveWebhook(tx, caller, webhookId);
        const delivery = await tx.webhookDelivery.findFirst({ where: { id: deliveryId, webhookId, organizationId: caller.organizationId } });
        if (!delivery) throw notFound("WebhookDelivery", deliveryId);
        const problem = redeliveryProblem(delivery);
        if (problem !== null) throw badInput(problem, "deliveryId");
        // Compare-and-set on the attempt count read: a dispatcher recording an attempt meanwhile wins,
        // and the caller is told the delivery moved on rather than having its schedule reset twice.
        const [redelivered] = await tx.webhookDelivery.updateManyAndReturn({
          where: { id: deliveryId, status: delivery.status, attempt: delivery.attempt },
          data: { status: "PENDING", nextAttemptAt: new Date(), lockedUntil: null, retryBase: delivery.attempt },
        });
        if (!redelivered) throw badInput(`WebhookDelivery ${deliveryId} changed meanwhile: read it again`, "deliveryId");
        return redelivered;
      });
    },

    async deleteWebhook(_parent, { input }, context) {
      const caller = requireAdmin(context.identity);
      const id = requireId(input.id, "id");
      const expectedVersion = requireVersion(input.expectedVersion);
      return context.prisma.$transaction((tx) =>
        versionedWrite(tx, origin(context), tx.webhook, {
          ...liveWebhook(caller, id, expectedVersion, { deletedAt: new Date(), enabled: false }),
          event: () => ({ eventType: "webhook.deleted", data: { webhookId: id } }),
        }),
      );
    },
  },

  // `board` needs no check of its own: an integration is only handed out on a board the caller can read.
  Integration: {
    __resolveReference: async (reference, context) =>
      isId(reference.id) ? visibleIntegration(context, await context.loaders.integration.load(reference.id)) : null,
    board: (integration) => (integration.boardId ? { id: integration.boardId } : null),
    name: (integration, _args, context) => settingOf(context, integration.name),
    createdBy: (integration, _args, context) => settingOf(context, { id: integration.createdById }),
    version: (integration, _args, context) => settingOf(context, integration.version),
    createdAt: (integration, _args, context) => settingOf(context, integration.createdAt),
    updatedAt: (integration, _args, context) => settingOf(context, integration.updatedAt),
  },

  Webhook: {
    __resolveReference: (reference, context) => (seesSettings(context) && isId(reference.id) ? context.loaders.webhook.load(reference.id) : null),
    url: (webhook, _args, context) => {
      requireWebhookReader(context, webhook.id);
      return webhook.url;
    },
    events: (webhook, _args, context) => {
      requireWebhookReader(context, webhook.id);
      return webhook.events;
    },
    enabled: (webhook, _args, context) => {
      requireWebhookReader(context, webhook.id);
      return webhook.enabled;
    },
    board: (webhook, _args, context) => {
      requireWebhookReader(context, webhook.id);
      return webhook.boardId ? { id: webhook.boardId } : null;
    },
    createdBy: (webhook, _args, context) => {
      requireWebhookReader(context, webhook.id);
      return { id: webhook.createdById };
    },
    version: (webhook, _args, context) => {
      requireWebhookReader(context, webhook.id);
      return webhook.version;
    },
    createdAt: (webhook, _args, context) => {
      requireWebhookReader(context, webhook.id);
      return webhook.createdAt;
    },
    disabledReason: (webhook, _args, context) => {
      requireWebhookReader(context, webhook.id);
      return webhook.disabledReason;
    },
    suspendedReason: (webhook, _args, context) => {
      requireWebhookReader(context, webhook.id);
      return webhook.suspendedReason;
    },
    previousSecretExpiresAt: (webhook, _args, context) => {
      requireWebhookReader(context, webhook.id);
      const expiresAt = webhook.previousSecretExpiresAt;
      return webhook.previousSecret !== null && expiresAt !== null && expiresAt > new Date() ? expiresAt : null;
    },
    async deliveries(webhook, args, context) {
      requireWebhookReader(context, webhook.id);
      const page = pageRequest(args);
      const rows = await context.prisma.webhookDelivery.findMany({
        where: {
          webhookId: webhook.id,
          organizationId: webhook.organizationId,
          AND: keysetAfter<Prisma.WebhookDeliveryWhereInput>("createdAt", "desc", page.after, dateKey),
        },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: page.size + 1,
      });
      return toConnection(rows, page, (row) => ({ key: row.createdAt.toISOString(), id: row.id }));
    },
  },

  // Deliveries are reached only through a webhook (or an admin's mutation), already checked.
  WebhookDelivery: {
    nextAttemptAt: (delivery) => (delivery.status === "PENDING" ? delivery.nextAttemptAt : null),
    attempts: (delivery, _args, context) => context.loaders.webhookAttempts.load(delivery.id),
  },

  Organization: {
    __resolveReference: (reference, context) => (reference.id === requireIdentity(context.identity).organizationId ? { id: reference.id } : null),
    integrations: async (organization, _args, context) =>
      visibleIntegrations(
        context,
        await context.prisma.integration.findMany({
          where: { organizationId: organization.id },
          orderBy: [{ createdAt: "asc" }, { id: "asc" }],
        }),
      ),
  },

  Board: {
    __resolveReference: (reference) => ({ id: reference.id }),
    integrations: (board, _args, context) => integrationsOfBoard(context, board.id),
  },
};
