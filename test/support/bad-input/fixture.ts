/**
 * The real ids a bad request starts from (so it gets past "not found" and reaches validation), and
 * the credentials it is sent with. Destructive operations point at scratch rows made for this suite,
 * so a malformed request that happens to be valid cannot archive the board the others write to or
 * revoke the key they authenticate with.
 */
import assert from "node:assert/strict";
import { mintToken } from "../../../gateway/src/auth/jwt.ts";
import { TEST_JWT, type Harness } from "../harness.ts";

export type Credential = "owner" | "member" | "ownerKey" | "memberKey" | "anonymous" | "garbage" | "otherOrg";

export interface Fixture {
  readonly workspaceId: string;
  readonly boardId: string;
  readonly privateBoardId: string;
  readonly groupId: string;
  readonly itemId: string;
  readonly columnIds: Readonly<Record<string, string>>;
  readonly webhookId: string;
  readonly integrationId: string;
  readonly teamId: string;
  readonly memberId: string;
  /** A member the suite may remove, re-role or share boards with. */
  readonly scratchUserId: string;
  /** Rows made for this suite, the targets of archive/delete/revoke. */
  readonly scratch: { readonly boardId: string; readonly groupId: string; readonly columnId: string; readonly itemId: string; readonly webhookId: string; readonly apiKeyId: string };
  /** A board of the other organisation. */
  readonly foreignBoardId: string;
  /** Authorization header values per credential (none for anonymous). */
  readonly authorization: Readonly<Record<Credential, string | undefined>>;
}

async function made<T>(harness: Harness, token: string, query: string, pick: (data: Record<string, unknown>) => T): Promise<T> {
  const result = await harness.gql(token, query);
  assert.equal(result.body.errors, undefined, `fixture: ${query}: ${JSON.stringify(result.body.errors)}`);
  return pick(result.body.data ?? {});
}

export async function makeFixture(harness: Harness): Promise<Fixture> {
  const acme = harness.seed.organizations[0];
  const [board, privateBoard] = acme.boards;
  const owner = await harness.token(0, "OWNER");
  const member = await harness.token(0, "MEMBER");
  const group = board.groupIds[0] as string;
  const field =
    <T>(name: string) =>
    (data: Record<string, unknown>) =>
      data[name] as T;

  const scratchBoard = await made(harness, owner, `mutation { createBoard(input: { workspaceId: "${acme.workspaceId}", name: "Scratch" }) { id } }`, field<{ id: string }>("createBoard"));
  const scratchGroup = await made(harness, owner, `mutation { createGroup(input: { boardId: "${scratchBoard.id}", name: "Scratch" }) { id } }`, field<{ id: string }>("createGroup"));
  const scratchColumn = await made(harness, owner, `mutation { createColumn(input: { boardId: "${scratchBoard.id}", title: "Scratch", type: TEXT }) { id } }`, field<{ id: string }>("createColumn"));
  const scratchItem = await made(
    harness,
    owner,
    `mutation { createItem(input: { boardId: "${scratchBoard.id}", groupId: "${scratchGroup.id}", name: "Scratch" }) { id } }`,
    field<{ id: string }>("createItem"),
  );
  const scratchWebhook = await made(
    harness,
    owner,
    `mutation { createWebhook(input: { url: "https://partner.example/scratch", events: ["project.item.created"] }) { webhook { id } } }`,
    field<{ webhook: { id: string } }>("createWebhook"),
  );
  const scratchKey = await made(harness, owner, `mutation { createApiKey(input: { name: "scratch" }) { apiKey { id } } }`, field<{ apiKey: { id: string } }>("createApiKey"));
  const ownerKey = await made(harness, owner, `mutation { createApiKey(input: { name: "bad-input owner" }) { secret } }`, field<{ secret: string }>("createApiKey"));
  const memberKey = await made(harness, owner, `mutation { createApiKey(input: { name: "bad-input member", role: MEMBER }) { secret } }`, field<{ secret: string }>("createApiKey"));
  const forged = await mintToken({ userId: acme.userIdsByRole.OWNER, organizationId: acme.id, role: "OWNER" }, { ...TEST_JWT, secret: "another-secret-of-at-least-32-bytes!!" });

  return {
    workspaceId: acme.workspaceId,
    boardId: board.id,
    privateBoardId: privateBoard.id,
    groupId: group,
    itemId: board.itemIds[2] as string,
    columnIds: board.columnIds,
    webhookId: acme.webhookId,
    integrationId: acme.integrationId,
    teamId: acme.teamId,
    memberId: acme.userIdsByRole.MEMBER,
    scratchUserId: (acme.users.at(-1) as { id: string }).id,
    scratch: { boardId: scratchBoard.id, groupId: scratchGroup.id, columnId: scratchColumn.id, itemId: scratchItem.id, webhookId: scratchWebhook.webhook.id, apiKeyId: scratchKey.apiKey.id },
    foreignBoardId: harness.seed.organizations[1].boards[0].id,
    authorization: {
      owner: `Bearer ${owner}`,
      member: `Bearer ${member}`,
      ownerKey: `Bearer ${ownerKey.secret}`,
      memberKey: `Bearer ${memberKey.secret}`,
      anonymous: undefined,
      // A token signed with another secret: well-formed, but forged.
      garbage: `Bearer ${forged}`,
      otherOrg: `Bearer ${await harness.token(1, "OWNER")}`,
    },
  };
}
