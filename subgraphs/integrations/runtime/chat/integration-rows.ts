/**
 * The Integration rows the chat apps switch. Switching one on is the admin's act: it runs as the
 * installing admin through the gateway (`enableIntegration`), so the same checks as in the web app
 * apply (role, the board exists and is theirs to configure) and `integration.enabled` is emitted.
 * Switching off on uninstall is Slack's or Teams' act, not a user's: the runtime does it itself,
 * with an organisation-only event origin.
 */
import { randomUUID } from "node:crypto";
import type { PrismaClient } from "../../../../platform/db.ts";
import type { Identity } from "../../../../platform/identity.ts";
import { isErrorCode, type ErrorCode } from "../../../../platform/error-codes.ts";
import { recordEvent } from "../../../shared/outbox.ts";
import { transactionRetryingConflicts } from "../../../shared/write-conflict.ts";
import type { Installation } from "./directory.ts";
import type { ActAs, ChatProvider } from "./model.ts";

const ENABLE = `mutation ChatEnableIntegration($input: EnableIntegrationInput!) {
  enableIntegration(input: $input) { id }
}`;

export async function enableChatIntegration(
  actAs: ActAs,
  admin: Identity,
  input: { type: ChatProvider; boardId: string | null; config: Record<string, string> },
): Promise<{ id: string } | { error: string; code: ErrorCode }> {
  const result = await actAs(admin, { query: ENABLE, operationName: "ChatEnableIntegration", variables: { input } });
  const id = (result.data as { enableIntegration?: { id?: string } } | null | undefined)?.enableIntegration?.id;
  if (id) return { id };
  const first = result.errors?.[0];
  const code = first?.extensions?.code;
  return {
    error: first?.message ?? "the integration could not be enabled",
    code: typeof code === "string" && isErrorCode(code) ? code : "INTERNAL_SERVER_ERROR",
  };
}

/** Switches off the installation's integrations (app uninstalled, tokens revoked, bot removed). */
export async function disableChatIntegrations(prisma: PrismaClient, installation: Installation, reason: string): Promise<number> {
  const rows = await prisma.integration.findMany({
    where: {
      organizationId: installation.organizationId,
      type: installation.provider,
      enabled: true,
      config: { path: ["installationId"], equals: installation.id },
    },
    select: { id: true },
  });
  for (const { id } of rows) {
    // The version is bumped without an expected one: the store may refuse it behind another writer (retried).
    await transactionRetryingConflicts(prisma, async (tx) => {
      const integration = await tx.integration.update({ where: { id }, data: { enabled: false, version: { increment: 1 } } });
      await recordEvent(
        tx,
        {
          identity: { organizationId: installation.organizationId },
          correlationId: `chat-${reason}-${randomUUID()}`,
          source: "integrations",
          channel: { surface: "system" },
        },
        {
          eventType: "integration.disabled",
          aggregateType: "Integration",
          aggregateId: id,
          version: integration.version,
          data: { integrationId: id, type: integration.type, boardId: integration.boardId },
        },
      );
    });
  }
  return rows.length;
}
