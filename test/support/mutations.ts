import { randomUUID } from "node:crypto";
import type { DemoSeed } from "../../prisma/seed.ts";
import type { PrismaClient } from "../../platform/db.ts";
import type { WebhookPayload } from "../../subgraphs/integrations/runtime/webhooks/queue.ts";

/** Everything a mutation case needs to build its variables against the seeded data. */
export interface CaseContext {
  readonly seed: DemoSeed;
  readonly prisma: PrismaClient;
}

export interface MutationCase {
  readonly name: string;
  readonly query: string;
  /** Variables aimed at organisation 0 (Acme), read fresh so versions are current. */
  variables(context: CaseContext): Promise<Record<string, unknown>>;
  /** The event types a successful call writes to the outbox, one row each, in order. */
  readonly events: readonly string[];
  /** Whether the input names rows of an organisation (cross-tenant denial applies). */
  readonly targetsRows: boolean;
  /** Acts only on the caller's own user (their profile): allowed to every role, VIEWER included. */
  readonly selfService?: boolean;
}

const acme = (context: CaseContext) => context.seed.organizations[0];
const board = (context: CaseContext) => acme(context).boards[0];
const itemId = (context: CaseContext, index: number) => board(context).itemIds[index] ?? "";
const version = async (context: CaseContext, model: "board" | "group" | "column" | "item" | "integration" | "webhook", id: string) => {
  const delegate = context.prisma[model] as unknown as { findUniqueOrThrow(args: { where: { id: string } }): Promise<{ version: number }> };
  return (await delegate.findUniqueOrThrow({ where: { id } })).version;
};

/** A delivery of Acme's seed webhook as the runtime leaves it after giving up: FAILED, with the body it sent. */
const failedDelivery = async (context: CaseContext) => {
  const eventId = randomUUID();
  const payload: WebhookPayload = {
    id: eventId,
    type: "project.item.created",
    schemaVersion: 1,
    occurredAt: new Date().toISOString(),
    organizationId: acme(context).id,
    boardId: null,
    data: {},
  };
  return context.prisma.webhookDelivery.create({
    data: {
      organizationId: acme(context).id,
      webhookId: acme(context).webhookId,
      eventId,
      eventType: payload.type,
      status: "FAILED",
      attempt: 1,
      responseStatus: 503,
      payload: JSON.stringify(payload),
    },
  });
};

/** Every mutation of the supergraph, with inputs that succeed for Acme's OWNER. */
export const MUTATIONS: readonly MutationCase[] = [
  {
    name: "inviteMember",
    query: `mutation($input: InviteMemberInput!) { inviteMember(input: $input) { id role } }`,
    variables: async () => ({ input: { email: `new-${Date.now()}@acme.example`, name: "New Person", role: "MEMBER" } }),
    // A new email creates the user too: two facts, two events.
    events: ["user.created", "member.added"],
    targetsRows: false,
  },
  {
    name: "changeMemberRole",
    query: `mutation($input: ChangeMemberRoleInput!) { changeMemberRole(input: $input) { id role } }`,
    variables: async (c) => ({ input: { userId: acme(c).users[5]?.id, role: "VIEWER" } }),
    events: ["member.role_changed"],
    targetsRows: true,
  },
  {
    name: "removeMember",
    query: `mutation($input: RemoveMemberInput!) { removeMember(input: $input) { id removedAt } }`,
    variables: async (c) => ({ input: { userId: acme(c).users[6]?.id } }),
    events: ["member.removed"],
    targetsRows: true,
  },
  {
    name: "updateProfile",
    query: `mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { id title } }`,
    variables: async () => ({ input: { title: `Title ${Date.now()}` } }),
    events: ["user.updated"],
    targetsRows: false,
    selfService: true,
  },
  {
    name: "createApiKey",
    query: `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id prefix role } secret } }`,
    variables: async () => ({ input: { name: "Partner sync", role: "MEMBER" } }),
    events: ["api_key.created"],
    targetsRows: false,
  },
  {
    name: "revokeApiKey",
    query: `mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { id revokedAt } }`,
    variables: async (c) => {
      const key = await c.prisma.apiKey.findFirst({ where: { organizationId: acme(c).id, revokedAt: null }, orderBy: { createdAt: "desc" } });
      // Before createApiKey has run (the denial tests), aim at a key id that does not exist.
      return { input: { id: key?.id ?? "00000000-0000-4000-8000-000000000000", expectedVersion: key?.version ?? 1 } };
    },
    events: ["api_key.revoked"],
    targetsRows: true,
  },
  {
    name: "createWorkspace",
    query: `mutation($input: CreateWorkspaceInput!) { createWorkspace(input: $input) { id } }`,
    variables: async () => ({ input: { name: "Another workspace" } }),
    events: ["project.workspace.created"],
    targetsRows: false,
  },
  {
    name: "createBoard",
    query: `mutation($input: CreateBoardInput!) { createBoard(input: $input) { id } }`,
    variables: async (c) => ({ input: { workspaceId: acme(c).workspaceId, name: "A new board" } }),
    events: ["project.created"],
    targetsRows: true,
  },
  {
    name: "updateBoard",
    query: `mutation($input: UpdateBoardInput!) { updateBoard(input: $input) { id name version } }`,
    variables: async (c) => ({ input: { id: board(c).id, expectedVersion: await version(c, "board", board(c).id), name: `Renamed ${Date.now()}` } }),
    events: ["project.updated"],
    targetsRows: true,
  },
  {
    name: "createGroup",
    query: `mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }`,
    variables: async (c) => ({ input: { boardId: board(c).id, name: "New group", color: "#00c875" } }),
    events: ["project.group.created"],
    targetsRows: true,
  },
  {
    name: "updateGroup",
    query: `mutation($input: UpdateGroupInput!) { updateGroup(input: $input) { id name } }`,
    variables: async (c) => {
      const id = board(c).groupIds[1] ?? "";
      return { input: { id, expectedVersion: await version(c, "group", id), name: "Renamed group" } };
    },
    events: ["project.group.updated"],
    targetsRows: true,
  },
  {
    name: "createColumn",
    query: `mutation($input: CreateColumnInput!) { createColumn(input: $input) { id } }`,
    variables: async (c) => ({ input: { boardId: board(c).id, title: "Budget", type: "NUMBER" } }),
    events: ["project.column.created"],
    targetsRows: true,
  },
  {
    name: "updateColumn",
    query: `mutation($input: UpdateColumnInput!) { updateColumn(input: $input) { id title } }`,
    variables: async (c) => {
      const id = board(c).columnIds.TEXT;
      return { input: { id, expectedVersion: await version(c, "column", id), title: "Notes" } };
    },
    events: ["project.column.updated"],
    targetsRows: true,
  },
  {
    name: "shareBoard",
    query: `mutation($input: ShareBoardInput!) { shareBoard(input: $input) { id } }`,
    variables: async (c) => ({ input: { boardId: board(c).id, userId: acme(c).userIdsByRole.MEMBER, permission: "EDITOR" } }),
    events: ["project.member.added"],
    targetsRows: true,
  },
  {
    name: "unshareBoard",
    query: `mutation($input: UnshareBoardInput!) { unshareBoard(input: $input) { id } }`,
    variables: async (c) => ({ input: { boardId: board(c).id, userId: acme(c).userIdsByRole.MEMBER } }),
    events: ["project.member.removed"],
    targetsRows: true,
  },
  {
    name: "createItem",
    query: `mutation($input: CreateItemInput!) { createItem(input: $input) { id } }`,
    variables: async (c) => ({
      input: {
        boardId: board(c).id,
        groupId: board(c).groupIds[0],
        name: "A new item",
        assigneeIds: [acme(c).userIdsByRole.MEMBER],
        columnValues: [{ columnId: board(c).columnIds.NUMBER, value: 42 }],
      },
    }),
    events: ["project.item.created"],
    targetsRows: true,
  },
  {
    name: "updateItem",
    query: `mutation($input: UpdateItemInput!) { updateItem(input: $input) { id name } }`,
    variables: async (c) => ({ input: { id: itemId(c, 0), expectedVersion: await version(c, "item", itemId(c, 0)), name: "Renamed item" } }),
    events: ["project.item.updated"],
    targetsRows: true,
  },
  {
    name: "moveItem",
    query: `mutation($input: MoveItemInput!) { moveItem(input: $input) { id group { id } } }`,
    variables: async (c) => ({
      input: { id: itemId(c, 1), expectedVersion: await version(c, "item", itemId(c, 1)), groupId: board(c).groupIds[2] },
    }),
    events: ["project.item.moved"],
    targetsRows: true,
  },
  {
    name: "setColumnValue",
    query: `mutation($input: SetColumnValueInput!) { setColumnValue(input: $input) { id } }`,
    variables: async (c) => ({ input: { itemId: itemId(c, 2), columnId: board(c).columnIds.TEXT, value: "hello" } }),
    events: ["project.item.column_value.set"],
    targetsRows: true,
  },
  {
    name: "assignUsers",
    query: `mutation($input: AssignUsersInput!) { assignUsers(input: $input) { id } }`,
    variables: async (c) => ({ input: { itemId: itemId(c, 3), add: [acme(c).userIdsByRole.VIEWER] } }),
    events: ["project.item.updated"],
    targetsRows: true,
  },
  {
    name: "addComment",
    query: `mutation($input: AddCommentInput!) { addComment(input: $input) { id } }`,
    variables: async (c) => ({ input: { itemId: itemId(c, 4), body: "Looks good" } }),
    events: ["comment.added"],
    targetsRows: true,
  },
  {
    name: "createSubitem",
    query: `mutation($input: CreateSubitemInput!) { createSubitem(input: $input) { id } }`,
    variables: async (c) => ({ input: { parentItemId: itemId(c, 4), name: "Step one" } }),
    events: ["project.item.subitem.created"],
    targetsRows: true,
  },
  {
    name: "deleteItem",
    query: `mutation($input: DeleteItemInput!) { deleteItem(input: $input) { id } }`,
    variables: async (c) => ({ input: { id: itemId(c, 5), expectedVersion: await version(c, "item", itemId(c, 5)) } }),
    events: ["project.item.deleted"],
    targetsRows: true,
  },
  {
    name: "archiveColumn",
    query: `mutation($input: VersionedInput!) { archiveColumn(input: $input) { id } }`,
    variables: async (c) => {
      const id = board(c).columnIds.DROPDOWN;
      return { input: { id, expectedVersion: await version(c, "column", id) } };
    },
    events: ["project.column.archived"],
    targetsRows: true,
  },
  {
    name: "archiveGroup",
    query: `mutation($input: VersionedInput!) { archiveGroup(input: $input) { id } }`,
    variables: async (c) => {
      const id = board(c).groupIds[1] ?? "";
      return { input: { id, expectedVersion: await version(c, "group", id) } };
    },
    events: ["project.group.archived"],
    targetsRows: true,
  },
  {
    name: "enableIntegration",
    query: `mutation($input: EnableIntegrationInput!) { enableIntegration(input: $input) { id enabled } }`,
    variables: async (c) => ({ input: { type: "TEAMS", boardId: board(c).id } }),
    events: ["integration.enabled"],
    targetsRows: true,
  },
  {
    name: "disableIntegration",
    query: `mutation($input: VersionedIntegrationInput!) { disableIntegration(input: $input) { id enabled } }`,
    variables: async (c) => ({ input: { id: acme(c).integrationId, expectedVersion: await version(c, "integration", acme(c).integrationId) } }),
    events: ["integration.disabled"],
    targetsRows: true,
  },
  {
    name: "createWebhook",
    query: `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } secret } }`,
    variables: async () => ({ input: { url: "https://example.invalid/hook", events: ["project.item.created"] } }),
    events: ["webhook.created"],
    targetsRows: false,
  },
  {
    name: "setWebhookEnabled",
    query: `mutation($input: SetWebhookEnabledInput!) { setWebhookEnabled(input: $input) { id enabled } }`,
    variables: async (c) => ({ input: { id: acme(c).webhookId, enabled: false, expectedVersion: await version(c, "webhook", acme(c).webhookId) } }),
    events: ["webhook.disabled"],
    targetsRows: true,
  },
  {
    name: "rotateWebhookSecret",
    query: `mutation($input: RotateWebhookSecretInput!) { rotateWebhookSecret(input: $input) { webhook { id version } secret previousSecretExpiresAt } }`,
    variables: async (c) => ({ input: { id: acme(c).webhookId, expectedVersion: await version(c, "webhook", acme(c).webhookId) } }),
    events: ["webhook.secret_rotated"],
    targetsRows: true,
  },
  {
    name: "testWebhook",
    query: `mutation($input: TestWebhookInput!) { testWebhook(input: $input) { id eventType status } }`,
    variables: async (c) => {
      // setWebhookEnabled above switched the seed webhook off, and a disabled one is refused a test.
      await c.prisma.webhook.update({ where: { id: acme(c).webhookId }, data: { enabled: true } });
      return { input: { id: acme(c).webhookId } };
    },
    // A test goes straight into the delivery queue: it is no domain event.
    events: [],
    targetsRows: true,
  },
  {
    name: "redeliverWebhookDelivery",
    query: `mutation($input: RedeliverWebhookDeliveryInput!) { redeliverWebhookDelivery(input: $input) { id status } }`,
    variables: async (c) => ({ input: { webhookId: acme(c).webhookId, deliveryId: (await failedDelivery(c)).id } }),
    events: [],
    targetsRows: true,
  },
  {
    name: "archiveBoard",
    query: `mutation($input: VersionedInput!) { archiveBoard(input: $input) { id state } }`,
    variables: async (c) => {
      const id = acme(c).boards[1].id;
      return { input: { id, expectedVersion: await version(c, "board", id) } };
    },
    events: ["project.archived"],
    targetsRows: true,
  },
  {
    name: "deleteWebhook",
    query: `mutation($input: DeleteWebhookInput!) { deleteWebhook(input: $input) { id } }`,
    variables: async (c) => ({ input: { id: acme(c).webhookId, expectedVersion: await version(c, "webhook", acme(c).webhookId) } }),
    events: ["webhook.deleted"],
    targetsRows: true,
  },
];
