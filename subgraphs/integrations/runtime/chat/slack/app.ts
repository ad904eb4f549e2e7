/**
 * The Slack app: install (OAuth v2), and what Slack sends us — events (mentions, DMs, uninstall),
 * the `/sunday` slash command, and button presses. Every inbound request is verified
 * (X-Slack-Signature over the exact bytes, 5-minute window) before anything is read from it; a
 * request that fails changes nothing and gets 401. Slack wants an answer within 3 s: we answer at
 * once and do the work after, replying through `response_url` or `chat.postMessage`. Whatever a
 * Slack user does runs as the Sunday user they are mapped to, through the gateway.
 */
import type { Logger } from "../../../../../platform/logger.ts";
import { problem } from "../../../../../platform/problem.ts";
import type { PrismaClient } from "../../../../../platform/db.ts";
import type { CommandCore } from "../commands/core.ts";
import { CHAT_ACTIONS, type ActAs, type ChatReply } from "../model.ts";
import { WorkspaceTakenError, type ChatDirectory, type Installation } from "../directory.ts";
import { signInstallGrant, verifyInstallGrant } from "../install-state.ts";
import type { Background, InboundRequest, InboundResponse, InboundRoute } from "../inbound.ts";
import { SLACK_SCOPES, type SlackAppSettings } from "../settings.ts";
import { claimInboundEvent } from "../inbound-events.ts";
import { commandText, parseEventsBody, parseInteraction, parseSlashCommand } from "./payloads.ts";
import { slackReplyMessage } from "./blocks.ts";
import { verifySlackRequest } from "./signature.ts";
import type { SlackClient } from "./client.ts";
import { enableChatIntegration, disableChatIntegrations } from "../integration-rows.ts";

export interface SlackAppOptions {
  readonly settings: SlackAppSettings;
  readonly prisma: PrismaClient;
  readonly directory: ChatDirectory;
  readonly client: SlackClient;
  readonly commands: CommandCore;
  readonly actAs: ActAs;
  readonly background: Background;
  /** The gateway's public base URL (OAuth redirect). */
  readonly publicUrl: string;
  readonly signingSecret: string;
  readonly logger: Logger;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SLACK_CHANNEL = /^[CGD][A-Z0-9]{2,30}$/;
const ADMIN_ROLES = new Set(["OWNER", "ADMIN"]);

const UNMAPPED: ChatReply = {
  text: "I can't tell which Sunday user you are.",
  lines: [
    "Your Slack account is matched to Sunday by its confirmed email address: make sure that address is confirmed in Slack and that it is the one of your Sunday account in this organization (ask an admin to invite you if you have none).",
  ],
  ephemeral: true,
};

function json(status: number, body: unknown): InboundResponse {
  return { status, json: body };
}

export function slackRoutes(options: SlackAppOptions): Readonly<Record<string, InboundRoute>> {
  const { settings, directory, client, commands, background, logger } = options;
  const redirectUri = new URL("/integrations/slack/oauth/callback", options.publicUrl).toString();

  /** The request really is Slack's (signature, timestamp), or the 401 to answer. */
  function refusal(request: InboundRequest): InboundResponse | null {
    const verdict = verifySlackRequest({
      signingSecret: settings.signingSecret,
      timestamp: request.headers("x-slack-request-timestamp"),
      signature: request.headers("x-slack-signature"),
      rawBody: request.body,
    });
    if (verdict.ok) return null;
    logger.warn({ path: request.path, reason: verdict.reason }, "refused a Slack request");
    return { problem: problem("UNAUTHENTICATED", `not a valid Slack request: ${verdict.reason}`) };
  }

  async function actorOf(installation: Installation, slackUserId: string) {
    const token = await directory.botToken(installation.id);
    const emailOf = async (userId: string) => {
      if (!token) return null;
      const found = await client.userEmail(token, userId);
      return found?.verified ? found.email : null;
    };
    const identity = await directory.identityOf(installation, slackUserId, () => emailOf(slackUserId));
    if (!identity) return null;
    return {
      identity,
      surface: "slack" as const,
      async resolveMention(raw: string): Promise<string | null> {
        const mentioned = /^<@([A-Z0-9]+)(?:\|[^>]*)?>$/.exec(raw.trim())?.[1];
        if (!mentioned) return null;
        return (await directory.identityOf(installation, mentioned, () => emailOf(mentioned)))?.userId ?? null;
      },
    };
  }

  /** Runs a command (or a button's action) for a Slack user of a bound, active workspace. */
  async function answer(teamId: string, slackUserId: string, work: (actor: NonNullable<Awaited<ReturnType<typeof actorOf>>>) => Promise<ChatReply>) {
    const installation = await directory.find("SLACK", teamId);
    if (!installation?.active) return null;
    const actor = await actorOf(installation, slackUserId);
    return { installation, reply: actor ? await work(actor) : UNMAPPED };
  }

  return {
    async "GET /integrations/slack/install"(request) {
      const identity = request.identity;
      if (!identity || !ADMIN_ROLES.has(identity.role)) {
        return { problem: problem("FORBIDDEN", "only an OWNER or ADMIN of the organization can install the Slack app") };
      }
      const boardId = request.query.get("boardId");
      const channel = request.query.get("channel");
      if (boardId !== null && !UUID.test(boardId)) return { problem: problem("BAD_USER_INPUT", "boardId must be a board id") };
      if (channel !== null && !SLACK_CHANNEL.test(channel))
        return { problem: problem("BAD_USER_INPUT", "channel must be a Slack channel id such as C0123ABC") };
      const state = await signInstallGrant(
        { provider: "SLACK", organizationId: identity.organizationId, userId: identity.userId, boardId, channel },
        options.signingSecret,
      );
      const url = new URL(settings.authorizeUrl);
      url.searchParams.set("client_id", settings.clientId);
      url.searchParams.set("scope", SLACK_SCOPES.join(","));
      url.searchParams.set("redirect_uri", redirectUri);
      url.searchParams.set("state", state);
      if ((request.headers("accept") ?? "").includes("application/json")) return json(200, { url: url.toString(), expiresInSeconds: 600 });
      return { redirect: url.toString() };
    },

    async "GET /integrations/slack/oauth/callback"(request) {
      const grant = await verifyInstallGrant(request.query.get("state") ?? "", "SLACK", options.signingSecret);
      if (!grant) return { problem: problem("FORBIDDEN", "the install link is invalid or has expired: start the installation again from Sunday") };
      const error = request.query.get("error");
      if (error) return { problem: problem("BAD_REQUEST", `Slack did not authorize the app: ${error}`) };
      const code = request.query.get("code");
      if (!code) return { problem: problem("BAD_REQUEST", "code is missing") };
      // The admin who started the install must still be one now.
      const admin = await directory.member(grant.organizationId, grant.userId);
      if (!admin || !ADMIN_ROLES.has(admin.role))
        return { problem: problem("FORBIDDEN", "only an OWNER or ADMIN of the organization can install the Slack app") };
      const access = await client.oauthAccess({ clientId: settings.clientId, clientSecret: settings.clientSecret, code, redirectUri });
      let installation: Installation;
      try {
        installation = await directory.bind({
          provider: "SLACK",
          externalId: access.teamId,
          externalName: access.teamName,
          organizationId: grant.organizationId,
          installedById: admin.userId,
          botToken: access.accessToken,
          botUserId: access.botUserId,
        });
      } catch (failure) {
        if (failure instanceof WorkspaceTakenError) return { problem: problem("CONFLICT", failure.message) };
        throw failure;
      }
      const integration = await enableChatIntegration(options.actAs, admin, {
        type: "SLACK",
        boardId: grant.boardId,
        config: { installationId: installation.id, teamId: access.teamId, ...(grant.channel ? { channel: grant.channel } : {}) },
      });
      if ("error" in integration) return { problem: problem(integration.code, integration.error) };
      logger.info({ organizationId: grant.organizationId, teamId: access.teamId, integrationId: integration.id }, "Slack app installed");
      return json(200, { installed: true, team: { id: access.teamId, name: access.teamName }, integrationId: integration.id, channel: grant.channel });
    },

    async "POST /integrations/slack/events"(request) {
      const refused = refusal(request);
      if (refused) return refused;
      const body = parseEventsBody(request.body.toString("utf8"));
      if (!body) return { problem: problem("BAD_REQUEST", "not a Slack Events API body") };
      if (body.kind === "url_verification") return json(200, { challenge: body.challenge });
      // Slack retries what it thinks we missed (X-Slack-Retry-Num): the first copy wins.
      if (!(await claimInboundEvent(options.prisma, "SLACK", body.eventId))) return json(200, { ok: true, duplicate: true });
      const { event, teamId } = body;
      // tokens_revoked also comes when only users' tokens go; the app is gone only with its bot token.
      if (event.type === "app_uninstalled" || (event.type === "tokens_revoked" && event.botUserIds.length > 0)) {
        background.run("Slack uninstall", async () => {
          const installation = await directory.uninstall("SLACK", teamId);
          if (installation) await disableChatIntegrations(options.prisma, installation, event.type);
        });
      } else if ((event.type === "app_mention" || (event.type === "message" && event.channelType === "im")) && !event.botId && !event.subtype) {
        background.run("Slack message", async () => {
          const answered = await answer(teamId, event.userId, (actor) => commands.run(commandText(event.text), actor));
          if (!answered) return;
          const token = await directory.botToken(answered.installation.id);
          if (!token) return;
          const message = slackReplyMessage(answered.reply);
          await client.postMessage(token, { channel: event.channelId, text: message.text, blocks: message.blocks });
        });
      }
      return json(200, { ok: true });
    },

    async "POST /integrations/slack/commands"(request) {
      const refused = refusal(request);
      if (refused) return refused;
      const command = parseSlashCommand(request.body.toString("utf8"));
      if (!command) return { problem: problem("BAD_REQUEST", "not a Slack slash command") };
      background.run("Slack command", async () => {
        const answered = await answer(command.teamId, command.userId, (actor) => commands.run(command.text, actor));
        const reply = answered?.reply ?? { text: "Sunday is not installed in this workspace any more.", ephemeral: true };
        await client.respond(command.responseUrl, slackReplyMessage(reply));
      });
      // An empty 200 acknowledges; the answer follows on response_url.
      return { status: 200, text: "" };
    },

    async "POST /integrations/slack/interactivity"(request) {
      const refused = refusal(request);
      if (refused) return refused;
      const interaction = parseInteraction(request.body.toString("utf8"));
      if (!interaction) return { problem: problem("BAD_REQUEST", "not a Slack interaction payload") };
      background.run("Slack button", async () => {
        for (const action of interaction.actions) {
          const kind = action.actionId.split(":")[0];
          const answered = await answer(interaction.teamId, interaction.userId, (actor) => {
            if (kind === CHAT_ACTIONS.markDone) return commands.markDone(action.value, actor);
            if (kind === CHAT_ACTIONS.choose) return commands.run(action.value, actor);
            return Promise.resolve({ text: "That button does nothing any more.", ephemeral: true });
          });
          if (!answered || !interaction.responseUrl) continue;
          await client.respond(interaction.responseUrl, { ...slackReplyMessage(answered.reply), replace_original: false });
        }
      });
      return { status: 200, text: "" };
    },
  };
}
