import DataLoader from "dataloader";
import type { BaseContext } from "../../shared/context.ts";
import { requireIdentity } from "../../shared/authorization.ts";
import { byId, groupedBy } from "../../shared/loaders.ts";
import type { PeerClient } from "../../shared/peer.ts";
import type { WebhookSettings } from "./webhook-settings.ts";
import type { IntegrationModel, WebhookAttemptModel, WebhookModel } from "../../../generated/prisma/models.ts";

export interface IntegrationsLoaders {
  readonly integration: DataLoader<string, IntegrationModel | null>;
  readonly webhook: DataLoader<string, WebhookModel | null>;
  /** Integrations limited to each board; the key "" holds the organisation-wide ones. */
  readonly integrationsOfBoard: DataLoader<string, IntegrationModel[]>;
  /** Boards the caller may read, from the projects subgraph. */
  readonly board: DataLoader<string, { id: string } | null>;
  /** Each delivery's attempts, oldest first: one query for every delivery a request lists. */
  readonly webhookAttempts: DataLoader<string, WebhookAttemptModel[]>;
}

export interface IntegrationsContext extends BaseContext {
  readonly loaders: IntegrationsLoaders;
  readonly webhooks: WebhookSettings;
}

export function createIntegrationsContext(base: BaseContext, projects: PeerClient | null, webhooks: WebhookSettings): IntegrationsContext {
  const { prisma } = base;
  const org = () => requireIdentity(base.identity).organizationId;
  return {
    ...base,
    webhooks,
    loaders: {
      integration: byId((ids) => prisma.integration.findMany({ where: { id: { in: ids }, organizationId: org() } })),
      webhook: byId((ids) => prisma.webhook.findMany({ where: { id: { in: ids }, organizationId: org(), deletedAt: null } })),
      integrationsOfBoard: groupedBy(
        (boardIds) =>
          prisma.integration.findMany({
            where: {
              organizationId: org(),
              OR: [{ boardId: { in: boardIds.filter((id) => id !== "") } }, { boardId: null }],
            },
            orderBy: [{ createdAt: "asc" }, { id: "asc" }],
          }),
        (integration) => integration.boardId ?? "",
      ),
      webhookAttempts: groupedBy(
        (deliveryIds) =>
          prisma.webhookAttempt.findMany({
            where: { deliveryId: { in: deliveryIds }, delivery: { organizationId: org() } },
            orderBy: [{ deliveryId: "asc" }, { attempt: "asc" }],
          }),
        (attempt) => attempt.deliveryId,
      ),
      board: new DataLoader(async (ids) => {
        if (!projects) throw new Error("integrations subgraph has no projects peer");
        return projects.entities<{ id: string }>({ identity: requireIdentity(base.identity), correlationId: base.correlationId }, "Board", ids, "id");
      }),
    },
  };
}
