import DataLoader from "dataloader";
import type { BaseContext } from "../../shared/context.ts";
import { requireIdentity } from "../../shared/authorization.ts";
import { byId, groupedBy } from "../../shared/loaders.ts";
import type { PeerClient } from "../../shared/peer.ts";
import type { IntegrationModel, WebhookModel } from "../../../generated/prisma/models.ts";

export interface IntegrationsLoaders {
  readonly integration: DataLoader<string, IntegrationModel | null>;
  readonly webhook: DataLoader<string, WebhookModel | null>;
  /** Integrations limited to each board; the key "" holds the organisation-wide ones. */
  readonly integrationsOfBoard: DataLoader<string, IntegrationModel[]>;
  /** Boards the caller may read, from the projects subgraph. */
  readonly board: DataLoader<string, { id: string } | null>;
}

export interface IntegrationsContext extends BaseContext {
  readonly loaders: IntegrationsLoaders;
}

export function createIntegrationsContext(base: BaseContext, projects: PeerClient | null): IntegrationsContext {
  const { prisma } = base;
  const org = () => requireIdentity(base.identity).organizationId;
  return {
    ...base,
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
      board: new DataLoader(async (ids) => {
        if (!projects) throw new Error("integrations subgraph has no projects peer");
        return projects.entities<{ id: string }>({ identity: requireIdentity(base.identity), correlationId: base.correlationId }, "Board", ids, "id");
      }),
    },
  };
}
