// The Slack and Teams apps in a test: the stack (real Postgres and Redis), the integrations runtime
// with both apps on, served on its own port and reached through the gateway exactly as in
// production, a Slack-compatible and a Bot-Connector-compatible server on loopback (real HTTP, real
// signatures and JWTs with test keys), and optionally the Kafka event pipeline feeding the runtime.
import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { Registry } from "prom-client";
import type { Role } from "../../platform/identity.ts";
import { serveInbound } from "../../subgraphs/integrations/runtime/chat/inbound.ts";
import { startIntegrationsRuntime, type IntegrationsRuntime } from "../../subgraphs/integrations/runtime/index.ts";
import { startBotConnector, teamsRequest, type BotConnector } from "./bot-connector.ts";
import { TEST_SIGNING_SECRET, startHarness, type Harness } from "./harness.ts";
import { startLivePipeline, type LivePipeline } from "./live.ts";
import { slackRequest, startSlackServer, type SlackServer } from "./slack-server.ts";

export const SLACK_APP = { clientId: "1234.5678", clientSecret: "test-slack-client-secret", signingSecret: "test-slack-signing-secret" } as const;
export const TEAMS_APP = { appId: "7f0b2c1e-0000-4000-8000-5a11bd0ba700", appPassword: "test-teams-app-password" } as const;
export const WEB_URL = "https://app.sunday.test";

// Errors only: a failing background task (a reply that could not be sent) shows in the test output.
const quiet = pino({ level: "error" });

export interface ChatHarness {
  readonly harness: Harness;
  readonly runtime: IntegrationsRuntime;
  readonly slack: SlackServer;
  readonly bot: BotConnector;
  readonly gatewayUrl: string;
  /** Where the runtime's metrics (webhooks and chat) are registered. */
  readonly metrics: Registry;
  /** The runtime's own inbound address (what the gateway forwards to). */
  readonly inboundUrl: string;
  /** The Kafka pipeline (relay → topics → the runtime's consumer group), when asked for. */
  readonly pipeline: LivePipeline | null;
  /** A seeded user's id and email. */
  user(org: 0 | 1, role: Role): Promise<{ id: string; email: string; organizationId: string }>;
  /** GET /integrations/slack/install as that user, JSON form: the authorize URL, or the problem. */
  slackInstallLink(org: 0 | 1, role: Role, query?: Record<string, string>): Promise<{ status: number; body: { url?: string; code?: string } }>;
  /** The whole OAuth install of a Slack team by an org's OWNER; the callback's answer. */
  installSlack(org: 0 | 1, team: { teamId: string; teamName?: string; channel?: string; boardId?: string }): Promise<{ status: number; body: Record<string, unknown> }>;
  /** A signed request to the gateway's Slack endpoint, as Slack sends it. */
  slackPost(
    path: "events" | "commands" | "interactivity",
    body: string,
    options?: { timestamp?: number; signingSecret?: string; contentType?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; body: string }>;
  /** A slash command from a Slack user; the response_url it gives. */
  slashCommand(teamId: string, userId: string, text: string): Promise<{ status: number; responseUrl: string }>;
  /** An activity to the gateway's Teams endpoint, with a Bot Connector token (valid unless `token` says otherwise). */
  teamsPost(activity: Record<string, unknown>, token?: string | null): Promise<{ status: number; body: string }>;
  /** A Teams message activity in a channel. */
  teamsMessage(input: { tenantId: string; conversationId: string; fromId: string; aadObjectId: string; text: string }): Record<string, unknown>;
  /** Connects a tenant to an org (connect code by its OWNER, `connect <code>` in a channel). */
  connectTeams(org: 0 | 1, input: { tenantId: string; conversationId: string; fromId: string; aadObjectId: string }): Promise<{ status: number }>;
  dispose(): Promise<void>;
}

export async function startChatHarness(name: string, options: { pipeline?: boolean; dispatcher?: { channelIntervalMs?: number; pollIntervalMs?: number } } = {}): Promise<ChatHarness> {
  const slack = await startSlackServer({ signingSecret: SLACK_APP.signingSecret });
  const bot = await startBotConnector({ appId: TEAMS_APP.appId, appPassword: TEAMS_APP.appPassword });
  let inboundUrl: string | undefined;
  // The gateway learns the runtime's address once it listens: the relay asks for it per request.
  const harness = await startHarness(name, { integrationsRuntimeUrl: () => inboundUrl });
  const gatewayUrl = harness.stack.gateway.url;
  const metrics = new Registry();
  const runtime = await startIntegrationsRuntime({
    prisma: harness.prisma,
    metrics,
    webhooks: harness.stack.webhooks,
    logger: quiet,
    chat: {
      slack: { ...SLACK_APP, apiUrl: slack.apiUrl, authorizeUrl: "https://slack.test/oauth/v2/authorize" },
      teams: { ...TEAMS_APP, openIdMetadataUrl: bot.openIdMetadataUrl, tokenUrl: bot.tokenUrl, issuer: bot.issuer },
      webUrl: WEB_URL,
      publicUrl: gatewayUrl,
      gatewayUrl,
      signingSecret: TEST_SIGNING_SECRET,
      keyRing: harness.stack.webhooks.keyRing,
    },
    chatOptions: { dispatcher: { pollIntervalMs: 50, ...options.dispatcher } },
  });
  const inbound = await serveInbound(runtime.inbound);
  inboundUrl = inbound.url;
  const pipeline = options.pipeline ? await startLivePipeline(harness, { consumers: [{ groupId: `test-chat-${randomUUID()}`, sink: runtime.sink }] }) : null;

  const user = async (org: 0 | 1, role: Role) => {
    const organization = harness.seed.organizations[org];
    const id = organization.userIdsByRole[role];
    const { email } = await harness.prisma.user.findUniqueOrThrow({ where: { id }, select: { email: true } });
    return { id, email, organizationId: organization.id };
  };
  const slackInstallLink: ChatHarness["slackInstallLink"] = async (org, role, query = {}) => {
    const url = new URL("/integrations/slack/install", gatewayUrl);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    const response = await fetch(url, { headers: { authorization: `Bearer ${await harness.token(org, role)}`, accept: "application/json" }, redirect: "manual" });
    return { status: response.status, body: (await response.json()) as { url?: string; code?: string } };
  };
  const teamsMessage: ChatHarness["teamsMessage"] = (input) => ({
    type: "message",
    id: `1${Date.now()}${Math.floor(Math.random() * 1e6)}`,
    timestamp: new Date().toISOString(),
    serviceUrl: bot.serviceUrl,
    channelId: "msteams",
    from: { id: input.fromId, name: "Someone", aadObjectId: input.aadObjectId },
    conversation: { id: input.conversationId, conversationType: "channel", tenantId: input.tenantId },
    recipient: { id: `28:${TEAMS_APP.appId}`, name: "Sunday" },
    text: input.text,
    channelData: { tenant: { id: input.tenantId }, team: { id: `19:team-${input.tenantId}@thread.tacv2` } },
  });
  const teamsPost: ChatHarness["teamsPost"] = async (activity, token) => {
    const bearer = token === undefined ? await bot.signActivityToken({ serviceUrl: bot.serviceUrl }) : token;
    return teamsRequest(new URL("/integrations/teams/messages", gatewayUrl).toString(), activity, bearer);
  };
  const slackPost: ChatHarness["slackPost"] = async (path, body, postOptions = {}) => {
    const answer = await slackRequest(new URL(`/integrations/slack/${path}`, gatewayUrl).toString(), postOptions.signingSecret ?? SLACK_APP.signingSecret, body, postOptions);
    return { status: answer.status, body: answer.body };
  };

  return {
    harness,
    runtime,
    slack,
    bot,
    gatewayUrl,
    inboundUrl: inbound.url,
    metrics,
    pipeline,
    user,
    slackInstallLink,
    async installSlack(org, team) {
      const query: Record<string, string> = {};
      if (team.channel) query.channel = team.channel;
      if (team.boardId) query.boardId = team.boardId;
      const link = await slackInstallLink(org, "OWNER", query);
      if (!link.body.url) throw new Error(`no install link: ${JSON.stringify(link.body)}`);
      const state = new URL(link.body.url).searchParams.get("state") ?? "";
      const owner = await user(org, "OWNER");
      const code = slack.issueCode({ teamId: team.teamId, teamName: team.teamName ?? team.teamId, userId: `U${owner.id.slice(0, 8).toUpperCase()}`, ...SLACK_APP });
      const callback = new URL("/integrations/slack/oauth/callback", gatewayUrl);
      callback.searchParams.set("code", code);
      callback.searchParams.set("state", state);
      const response = await fetch(callback);
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
    slackPost,
    async slashCommand(teamId, userId, text) {
      const responseUrl = slack.responseUrl();
      const body = new URLSearchParams({
        token: "deprecated",
        team_id: teamId,
        team_domain: "test",
        channel_id: "C0GENERAL",
        channel_name: "general",
        user_id: userId,
        user_name: "someone",
        command: "/sunday",
        text,
        response_url: responseUrl,
        trigger_id: `${Date.now()}.1.abc`,
      }).toString();
      const answer = await slackPost("commands", body, { contentType: "application/x-www-form-urlencoded" });
      return { status: answer.status, responseUrl };
    },
    teamsPost,
    teamsMessage,
    async connectTeams(org, input) {
      const response = await fetch(new URL("/integrations/teams/install", gatewayUrl), {
        headers: { authorization: `Bearer ${await harness.token(org, "OWNER")}` },
      });
      const { code } = (await response.json()) as { code: string };
      const answer = await teamsPost(teamsMessage({ ...input, text: `connect ${code}` }));
      return { status: answer.status };
    },
    async dispose() {
      await pipeline?.dispose();
      await runtime.close();
      await inbound.close();
      await harness.dispose();
      await slack.close();
      await bot.close();
    },
  };
}
