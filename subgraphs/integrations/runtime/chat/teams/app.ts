/**
 * The Microsoft Teams bot: one messaging endpoint (Bot Framework). The Bot Connector token is
 * checked (signature by the published keys, issuer, audience = our app id, `serviceUrl` claim equal
 * to the activity's) before the activity is acted on; anything else is 401 and changes nothing.
 *
 * Binding a tenant to an organisation: an OWNER or ADMIN asks Sunday for a connect code
 * (`GET /integrations/teams/install`, signed, expiring, bound to their organisation) and sends
 * `connect <code>` to the bot in Teams. The tenant is then the organisation's for good (a second
 * organisation is refused), the conversation is stored for notifications, and an organisation-wide
 * TEAMS integration is switched on as that admin. Adding the bot to further channels of a bound
 * tenant stores those conversations too.
 */
import type { Logger } from "../../../../../platform/logger.ts";
import { problem } from "../../../../../platform/problem.ts";
import type { PrismaClient } from "../../../../../platform/db.ts";
import type { CommandCore } from "../commands/core.ts";
import { CHAT_ACTIONS, type ActAs, type ChatReply } from "../model.ts";
import { WorkspaceTakenError, type ChatDirectory, type Installation } from "../directory.ts";
import { signInstallGrant, verifyInstallGrant, INSTALL_GRANT_TTL_SECONDS } from "../install-state.ts";
import type { Background, InboundResponse, InboundRoute } from "../inbound.ts";
import { claimInboundEvent } from "../inbound-events.ts";
import { enableChatIntegration, disableChatIntegrations } from "../integration-rows.ts";
import { parseActivity } from "./activities.ts";
import { adaptiveCardInvokeResponse, teamsReplyActivity } from "./cards.ts";
import type { createBotAuthenticator } from "./bot-auth.ts";
import type { createTeamsClient } from "./client.ts";

type BotAuthenticator = ReturnType<typeof createBotAuthenticator>;
type TeamsClient = ReturnType<typeof createTeamsClient>;

export interface TeamsAppOptions {
  readonly prisma: PrismaClient;
  readonly directory: ChatDirectory;
  readonly authenticator: BotAuthenticator;
  readonly client: TeamsClient;
  readonly commands: CommandCore;
  readonly actAs: ActAs;
  readonly background: Background;
  readonly signingSecret: string;
  readonly logger: Logger;
}

const ADMIN_ROLES = new Set(["OWNER", "ADMIN"]);
const CONNECT = /^connect\s+(\S+)$/i;

const UNMAPPED: ChatReply = {
  text: "I can't tell which Sunday user you are.",
  lines: ["Your Teams account is matched to Sunday by its email address: ask an admin to invite that address to Sunday."],
  ephemeral: true,
};
const WELCOME: ChatReply = {
  text: "Sunday is here: notifications about your boards will arrive in this channel. Type `help` for commands.",
  ephemeral: false,
};
const NOTIFICATIONS_OFF: ChatReply = {
  text: "Sunday is here, but its notifications are switched off for this tenant. Type `help` for commands.",
  lines: ["An admin of your Sunday organization can switch them on again: get a connect code in Sunday and send `connect <code>` here."],
  ephemeral: false,
};
const NOT_CONNECTED: ChatReply = {
  text: "This Teams tenant is not connected to Sunday yet.",
  lines: ["An admin of your Sunday organization can get a connect code in Sunday (Integrations → Microsoft Teams) and send `connect <code>` here."],
  ephemeral: true,
};

type Activity = NonNullable<ReturnType<typeof parseActivity>>;
type UserActivity = Extract<Activity, { type: "message" | "invoke" }>;

export function teamsRoutes(options: TeamsAppOptions): Readonly<Record<string, InboundRoute>> {
  const { directory, client, commands, background, logger, prisma } = options;

  async function remember(installation: Installation, activity: { serviceUrl: string; conversationId: string; teamId: string | null }): Promise<void> {
    await prisma.chatConversation.upsert({
      where: { installationId_conversationId: { installationId: installation.id, conversationId: activity.conversationId } },
      create: { installationId: installation.id, conversationId: activity.conversationId, serviceUrl: activity.serviceUrl, teamId: activity.teamId },
      update: { serviceUrl: activity.serviceUrl, removedAt: null },
    });
  }

  async function actorOf(installation: Installation, activity: UserActivity) {
    const identity = await directory.identityOf(installation, activity.fromAadObjectId ?? activity.fromId, async () => {
      const member = await client.member(activity.serviceUrl, activity.conversationId, activity.fromId);
      return member?.email ?? member?.userPrincipalName ?? null;
    });
    if (!identity) return null;
    const mentions = activity.type === "message" ? activity.mentions : [];
    return {
      identity,
      surface: "teams" as const,
      async resolveMention(raw: string): Promise<string | null> {
        const name = raw
          .replace(/^<at>|<\/at>$/g, "")
          .replace(/^@/, "")
          .trim();
        const mentioned = mentions.find((mention) => mention.name === name || mention.id === raw);
        if (!mentioned) return null;
        const user = await directory.identityOf(installation, mentioned.id, async () => {
          const member = await client.member(activity.serviceUrl, activity.conversationId, mentioned.id);
          return member?.email ?? member?.userPrincipalName ?? null;
        });
        return user?.userId ?? null;
      },
    };
  }

  /** `connect <code>`: binds the tenant to the code's organisation. */
  async function connect(activity: Extract<Activity, { type: "message" }>, code: string): Promise<ChatReply> {
    const grant = await verifyInstallGrant(code, "TEAMS", options.signingSecret);
    if (!grant || !activity.tenantId) return { text: "That connect code is not valid or has expired: ask for a new one in Sunday.", ephemeral: true };
    const admin = await directory.member(grant.organizationId, grant.userId);
    if (!admin || !ADMIN_ROLES.has(admin.role)) return { text: "The admin who made that code can no longer connect Sunday.", ephemeral: true };
    let installation: Installation;
    try {
      installation = await directory.bind({
        provider: "TEAMS",
        externalId: activity.tenantId,
        externalName: null,
        organizationId: grant.organizationId,
        installedById: admin.userId,
        botToken: null,
        botUserId: activity.recipientId,
      });
    } catch (failure) {
      if (failure instanceof WorkspaceTakenError) return { text: failure.message, ephemeral: true };
      throw failure;
    }
    await remember(installation, activity);
    const enabled = await enableChatIntegration(options.actAs, admin, {
      type: "TEAMS",
      boardId: grant.boardId,
      config: { installationId: installation.id, tenantId: activity.tenantId },
    });
    if ("error" in enabled) return { text: `Connected, but notifications could not be switched on: ${enabled.error}`, ephemeral: true };
    return { text: "Connected to Sunday. Notifications about your boards will arrive here; type `help` for commands.", ephemeral: false };
  }

  async function reply(activity: Activity & { serviceUrl: string; conversationId: string; id: string }, answer: ChatReply): Promise<void> {
    await client.replyToActivity(activity.serviceUrl, activity.conversationId, activity.id, teamsReplyActivity(answer));
  }

  async function onMessage(activity: Extract<Activity, { type: "message" }>): Promise<void> {
    const code = CONNECT.exec(activity.text)?.[1];
    if (code) return reply(activity, await connect(activity, code));
    const installation = activity.tenantId ? await directory.find("TEAMS", activity.tenantId) : null;
    if (!installation?.active) return reply(activity, NOT_CONNECTED);
    // A message does not make its conversation a notification target: only `connect` and adding the
    // bot to a channel do (a stranger's personal chat must not start hearing the organisation's boards).
    const actor = await actorOf(installation, activity);
    await reply(activity, actor ? await commands.run(activity.text, actor) : UNMAPPED);
  }

  async function onInvoke(activity: Extract<Activity, { type: "invoke" }>): Promise<InboundResponse> {
    const installation = activity.tenantId ? await directory.find("TEAMS", activity.tenantId) : null;
    let answer: ChatReply;
    if (!installation?.active) answer = NOT_CONNECTED;
    else {
      const actor = await actorOf(installation, activity);
      const itemId = typeof activity.data.itemId === "string" ? activity.data.itemId : null;
      const command = typeof activity.data.command === "string" ? activity.data.command : null;
      if (!actor) answer = UNMAPPED;
      else if (activity.verb === CHAT_ACTIONS.markDone && itemId) answer = await commands.markDone(itemId, actor);
      else if (activity.verb === CHAT_ACTIONS.choose && command) answer = await commands.run(command, actor);
      else answer = { text: "That button does nothing any more.", ephemeral: true };
    }
    const response = adaptiveCardInvokeResponse(answer);
    return { status: response.status, json: response.body };
  }

  return {
    async "GET /integrations/teams/install"(request) {
      const identity = request.identity;
      if (!identity || !ADMIN_ROLES.has(identity.role)) {
        return { problem: problem("FORBIDDEN", "only an OWNER or ADMIN of the organization can connect Microsoft Teams") };
      }
      const boardId = request.query.get("boardId");
      const code = await signInstallGrant(
        { provider: "TEAMS", organizationId: identity.organizationId, userId: identity.userId, boardId, channel: null },
        options.signingSecret,
      );
      return {
        status: 200,
        json: { code, expiresInSeconds: INSTALL_GRANT_TTL_SECONDS, instructions: "Add the Sunday bot to a Teams channel and send it: connect <code>" },
      };
    },

    async "POST /integrations/teams/messages"(request) {
      let body: unknown;
      try {
        body = JSON.parse(request.body.toString("utf8"));
      } catch {
        body = null;
      }
      const serviceUrl = body && typeof body === "object" && "serviceUrl" in body && typeof body.serviceUrl === "string" ? body.serviceUrl : undefined;
      const verdict = await options.authenticator.verify(request.headers("authorization"), serviceUrl);
      if (!verdict.ok) {
        logger.warn({ reason: verdict.reason }, "refused a Bot Connector request");
        return { problem: problem("UNAUTHENTICATED", `not a valid Bot Connector request: ${verdict.reason}`) };
      }
      const activity = parseActivity(body);
      if (!activity) return { problem: problem("BAD_REQUEST", "not a Bot Framework activity") };
      if (activity.type === "other") return { status: 200, json: {} };
      if (!(await claimInboundEvent(prisma, "TEAMS", `${activity.conversationId}:${activity.id}`))) return { status: 200, json: {} };
      if (activity.type === "invoke") return onInvoke(activity);
      if (activity.type === "conversationUpdate") {
        background.run("Teams conversation update", async () => {
          const installation = activity.tenantId ? await directory.find("TEAMS", activity.tenantId) : null;
          if (activity.botRemoved) {
            if (!installation) return;
            await prisma.chatConversation.updateMany({
              where: { installationId: installation.id, conversationId: activity.conversationId },
              data: { removedAt: new Date() },
            });
            const left = await prisma.chatConversation.count({ where: { installationId: installation.id, removedAt: null } });
            if (left === 0) await disableChatIntegrations(prisma, installation, "bot_removed");
            return;
          }
          if (!activity.botAdded) return;
          if (installation?.active) {
            await remember(installation, activity);
            // Notifications may have been switched off (the bot left its last channel, or an admin): say so rather than promise them.
            const listening = await prisma.integration.count({
              where: {
                organizationId: installation.organizationId,
                type: "TEAMS",
                enabled: true,
                config: { path: ["installationId"], equals: installation.id },
              },
            });
            await client.sendToConversation(activity.serviceUrl, activity.conversationId, teamsReplyActivity(listening > 0 ? WELCOME : NOTIFICATIONS_OFF));
          } else {
            await client.sendToConversation(activity.serviceUrl, activity.conversationId, teamsReplyActivity(NOT_CONNECTED));
          }
        });
        return { status: 200, json: {} };
      }
      background.run("Teams message", () => onMessage(activity));
      return { status: 200, json: {} };
    },
  };
}
