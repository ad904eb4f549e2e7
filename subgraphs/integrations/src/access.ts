/**
 * Who sees what of integrations and webhooks. Settings (names, configs, creators, webhook URLs,
 * events, deliveries) are for OWNER and ADMIN only: a webhook URL is often a credential by itself,
 * and a board-scoped setting names a board the caller may not be allowed to know. A webhook's
 * signing secret is shown to no one after the create or rotate call that returned it.
 *
 * - OWNER, ADMIN: every integration and webhook of the organisation, with its settings.
 * - MEMBER, VIEWER: the type and enabled flag of the integrations on boards they can read, and of
 *   the organisation-wide ones (that the organisation uses Slack is no secret among its members).
 * - GUEST: the same for boards shared with it, and no organisation-wide integration: a guest sees
 *   only the boards shared with it, not how the organisation works.
 * - Webhooks do not exist for non-admins: lists are empty, ids resolve to null like ids that do
 *   not exist, so the answer does not reveal whether one does. Their deliveries and attempts are
 *   reached only through a webhook. Webhook mutations refuse non-admins with FORBIDDEN, whatever
 *   the id (REST answers them the 404 of a missing webhook: gateway/src/rest/routes.ts).
 *
 * Board readability is the projects subgraph's: it is asked as the same caller through
 * `_entities` (the context's `board` loader), never read from its tables.
 */
import type { Identity } from "../../../platform/identity.ts";
import { isAdmin, requireIdentity } from "../../shared/authorization.ts";
import { notFound } from "../../shared/errors.ts";
import { isId } from "../../shared/validation.ts";
import type { Prisma } from "../../../generated/prisma/client.ts";
import type { IntegrationModel } from "../../../generated/prisma/models.ts";
import type { IntegrationsContext } from "./context.ts";

/** OWNER and ADMIN: they see settings. */
export function seesSettings(context: IntegrationsContext): boolean {
  return isAdmin(requireIdentity(context.identity));
}

/** A settings field's value for the caller: null unless OWNER or ADMIN. */
export function settingOf<T>(context: IntegrationsContext, value: T): T | null {
  return seesSettings(context) ? value : null;
}

/**
 * Every webhook field goes through this: webhooks are never handed to non-admins, and a path that
 * did by mistake (a new root field, a mutation's payload) fails here rather than leaking.
 */
export function requireWebhookReader(context: IntegrationsContext, webhookId: string): void {
  if (!seesSettings(context)) throw notFound("Webhook", webhookId);
}

/** Organisation-wide integrations: members see that they exist, guests do not. */
function seesOrganizationWide(caller: Identity): boolean {
  return caller.role !== "GUEST";
}

/** Which of these boards the caller may read, asked of the projects subgraph in one batch. */
export async function readableBoards(context: IntegrationsContext, boardIds: Iterable<string>): Promise<Set<string>> {
  const ids = [...new Set(boardIds)];
  // `load`, not `loadMany`: a failed peer call must fail the field, not read as "not readable".
  const boards = await Promise.all(ids.map((id) => context.loaders.board.load(id)));
  return new Set(ids.filter((_id, index) => boards[index] !== null));
}

/** The integrations of these rows the caller may see (rows are of the caller's organisation). */
export async function visibleIntegrations(context: IntegrationsContext, rows: readonly IntegrationModel[]): Promise<IntegrationModel[]> {
  const caller = requireIdentity(context.identity);
  if (isAdmin(caller)) return [...rows];
  const readable = await readableBoards(
    context,
    rows.flatMap((row) => (row.boardId === null ? [] : [row.boardId])),
  );
  return rows.filter((row) => (row.boardId === null ? seesOrganizationWide(caller) : readable.has(row.boardId)));
}

export async function visibleIntegration(context: IntegrationsContext, row: IntegrationModel | null): Promise<IntegrationModel | null> {
  if (!row) return null;
  const [visible] = await visibleIntegrations(context, [row]);
  return visible ?? null;
}

/**
 * The Prisma filter of the integrations the caller may see, for paged lists (filtering a page
 * after the fact would shorten pages and hide rows behind cursors). For non-admins it first asks
 * which boards that have integrations the caller can read: one query and one peer call.
 */
export async function visibleIntegrationsWhere(context: IntegrationsContext): Promise<Prisma.IntegrationWhereInput> {
  const caller = requireIdentity(context.identity);
  const tenant: Prisma.IntegrationWhereInput = { organizationId: caller.organizationId };
  if (isAdmin(caller)) return tenant;
  const scoped = await context.prisma.integration.findMany({
    where: { ...tenant, boardId: { not: null } },
    distinct: ["boardId"],
    select: { boardId: true },
  });
  const readable = await readableBoards(
    context,
    scoped.flatMap((row) => (row.boardId === null ? [] : [row.boardId])),
  );
  return {
    ...tenant,
    OR: [{ boardId: { in: [...readable] } }, ...(seesOrganizationWide(caller) ? [{ boardId: null }] : [])],
  };
}

/**
 * A board's integrations as the caller may see them: none unless the caller can read the board
 * (asked of projects even though the gateway only asks about boards projects resolved: this
 * subgraph does not trust the representation it is handed), and organisation-wide ones only for
 * members.
 */
export async function integrationsOfBoard(context: IntegrationsContext, boardId: string): Promise<IntegrationModel[]> {
  const caller = requireIdentity(context.identity);
  if (!isId(boardId)) return [];
  const [board, own, organizationWide] = await Promise.all([
    context.loaders.board.load(boardId),
    context.loaders.integrationsOfBoard.load(boardId),
    seesOrganizationWide(caller) ? context.loaders.integrationsOfBoard.load("") : Promise.resolve([]),
  ]);
  if (!board) return [];
  return [...own, ...organizationWide];
}
