import { randomBytes } from "node:crypto";
import { DateTimeResolver } from "graphql-scalars";
import type { Resolvers } from "./generated/resolvers.ts";
import type { IntegrationsContext } from "./context.ts";
import type { Identity } from "../../../platform/identity.ts";
import type { Prisma } from "../../../generated/prisma/client.ts";
import type { WebhookModel } from "../../../generated/prisma/models.ts";
import { requireAdmin, requireIdentity } from "../../shared/authorization.ts";
import { badInput, notFound } from "../../shared/errors.ts";
import { recordEvent, type EventSource } from "../../shared/outbox.ts";
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

function origin(context: IntegrationsContext): EventSource {
  return { identity: requireIdentity(context.identity), correlationId: context.correlationId, source: "integrations" };
}

async function requireBoard(context: IntegrationsContext, boardId: string | null | undefined): Promise<string | null> {
  if (boardId == null) return null;
  const id = requireId(boardId, "boardId");
  if (!(await context.loaders.board.load(id))) throw notFound("Board", id);
  return id;
}

function webhookUrl(value: string): string {
  const text = requireText(value, "url", { max: 2048 });
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw badInput("url is not a valid URL", "url");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw badInput("url must be http(s)", "url");
  if (url.username || url.password) throw badInput("url must not carry credentials", "url");
  return url.toString();
}

/** A versioned write of a live webhook of the caller's organisation (the event is the caller's to name). */
function liveWebhook(caller: Identity, id: string, expectedVersion: number, data: Prisma.WebhookUpdateManyMutationInput) {
  const live = { organizationId: caller.organizationId, deletedAt: null };
  return { type: "Webhook", id, expectedVersion, where: live, data, current: { id, ...live } };
}

export const resolvers: Resolvers = {
  DateTime: DateTimeResolver,
  JSON: BoundedJSON,

  Query: {
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
      return context.prisma.$transaction(async (tx) => {
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
      const url = webhookUrl(input.url);
      const events = requireEventFilters(input.events);
      const boardId = await requireBoard(context, input.boardId);
      const secret = randomBytes(32).toString("hex");
      return context.prisma.$transaction(async (tx) => {
        const webhook = await tx.webhook.create({
          data: { organizationId: caller.organizationId, boardId, url, secret, events, createdById: caller.userId },
        });
        await recordEvent(tx, origin(context), {
          eventType: "webhook.created",
          aggregateType: "Webhook",
          aggregateId: webhook.id,
          version: webhook.version,
          data: { webhookId: webhook.id, url, events: webhook.events, boardId },
        });
        return { webhook, secret };
      });
    },

    async setWebhookEnabled(_parent, { input }, context) {
      const caller = requireAdmin(context.identity);
      const id = requireId(input.id, "id");
      const expectedVersion = requireVersion(input.expectedVersion);
      return context.prisma.$transaction((tx) =>
        versionedWrite(tx, origin(context), tx.webhook, {
          ...liveWebhook(caller, id, expectedVersion, { enabled: input.enabled }),
          event: () => ({ eventType: input.enabled ? "webhook.enabled" : "webhook.disabled", data: { webhookId: id } }),
        }),
      );
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
