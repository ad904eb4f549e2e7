/**
 * The chat apps (Slack, Microsoft Teams) as one part of the integrations runtime: their inbound
 * routes, the notification sink and the dispatcher that sends. One command core serves both apps;
 * each connector brings its own authentication, client (with a circuit breaker) and rendering.
 */
import type { Registry } from "prom-client";
import type { DomainEvent } from "../../../../events/contracts/envelope.ts";
import type { PrismaClient } from "../../../../platform/db.ts";
import type { Logger } from "../../../../platform/logger.ts";
import { createActAs } from "./act-as.ts";
import { ChatCallError, type BreakerState } from "./connector.ts";
import { createCommandCore } from "./commands/core.ts";
import { createChatDirectory } from "./directory.ts";
import { Background, type InboundRoute } from "./inbound.ts";
import { pruneInboundEvents } from "./inbound-events.ts";
import { createChatMetrics, type ChatMetrics } from "./metrics.ts";
import type { ActAs, ChatProvider } from "./model.ts";
import { createChatDispatcher, type ChannelSender, type ChatDispatcherOptions } from "./notifications/dispatcher.ts";
import { boardNoticeOf } from "./notifications/notices.ts";
import { enqueue, targetsOf } from "./notifications/queue.ts";
import type { ChatSettings } from "./settings.ts";
import { slackRoutes } from "./slack/app.ts";
import { slackNoticeMessage } from "./slack/blocks.ts";
import { createSlackClient } from "./slack/client.ts";
import { teamsRoutes } from "./teams/app.ts";
import { createBotAuthenticator } from "./teams/bot-auth.ts";
import { teamsNoticeActivity } from "./teams/cards.ts";
import { createTeamsClient } from "./teams/client.ts";
import { createBotTokenSource } from "./teams/token.ts";

export interface ChatOptions {
  readonly prisma: PrismaClient;
  readonly settings: ChatSettings;
  readonly logger: Logger;
  readonly metrics?: Registry;
  /** Dispatcher tuning (tests, benchmarks). */
  readonly dispatcher?: Omit<ChatDispatcherOptions, "prisma" | "senders" | "logger">;
  /** How the runtime acts as a chat user. @default through the gateway's POST /internal/graphql */
  readonly actAs?: ActAs;
}

export interface ChatApps {
  readonly routes: Readonly<Record<string, InboundRoute>>;
  /** Queues the event's notifications (idempotent per integration, event and channel). */
  handle(event: DomainEvent): Promise<void>;
  /** Waits for inbound work in flight and for every due notification to be sent or rescheduled. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

const PRUNE_INBOUND_AFTER_MS = 86_400_000;

export function startChat(options: ChatOptions): ChatApps {
  const { prisma, settings, logger } = options;
  const directory = createChatDirectory(prisma, settings.keyRing);
  const actAs = options.actAs ?? createActAs({ gatewayUrl: settings.gatewayUrl, signingSecret: settings.signingSecret });
  const commands = createCommandCore({ actAs, webUrl: settings.webUrl });
  const background = new Background(logger);
  const breakers: Partial<Record<ChatProvider, () => BreakerState>> = {};
  let metrics: ChatMetrics | null = null;
  const onRequest = (provider: ChatProvider) => (operation: string, outcome: Parameters<ChatMetrics["onRequest"]>[2], durationMs: number) =>
    metrics?.onRequest(provider, operation, outcome, durationMs);

  const senders: Partial<Record<ChatProvider, ChannelSender>> = {};
  let routes: Record<string, InboundRoute> = {};
  if (settings.slack) {
    const client = createSlackClient({ apiUrl: settings.slack.apiUrl, onRequest: onRequest("SLACK") });
    breakers.SLACK = () => client.breakerState();
    routes = {
      ...routes,
      ...slackRoutes({
        settings: settings.slack,
        prisma,
        directory,
        client,
        commands,
        actAs,
        background,
        publicUrl: settings.publicUrl,
        signingSecret: settings.signingSecret,
        logger,
      }),
    };
    senders.SLACK = async (channel, notices) => {
      const token = await directory.botToken(channel.installationId);
      if (!token) throw new ChatCallError("fatal", "the Slack app was uninstalled");
      const message = slackNoticeMessage(notices);
      await client.postMessage(token, { channel: channel.channelId, text: message.text, blocks: message.blocks });
    };
  }
  if (settings.teams) {
    const teams = settings.teams;
    const tokens = createBotTokenSource({ tokenUrl: teams.tokenUrl, appId: teams.appId, appPassword: teams.appPassword });
    const client = createTeamsClient({ tokens, onRequest: onRequest("TEAMS") });
    const authenticator = createBotAuthenticator({ appId: teams.appId, openIdMetadataUrl: teams.openIdMetadataUrl, issuer: teams.issuer });
    breakers.TEAMS = () => client.breakerState();
    routes = {
      ...routes,
      ...teamsRoutes({ prisma, directory, authenticator, client, commands, actAs, background, signingSecret: settings.signingSecret, logger }),
    };
    senders.TEAMS = async (channel, notices) => {
      const conversation = await prisma.chatConversation.findFirst({
        where: { installationId: channel.installationId, conversationId: channel.channelId, removedAt: null, installation: { uninstalledAt: null } },
        select: { serviceUrl: true },
      });
      if (!conversation) throw new ChatCallError("fatal", "the bot was removed from this conversation");
      await client.sendToConversation(conversation.serviceUrl, channel.channelId, teamsNoticeActivity(notices));
    };
  }
  if (options.metrics) metrics = createChatMetrics(options.metrics, breakers);

  const dispatcher = createChatDispatcher({
    ...options.dispatcher,
    prisma,
    senders,
    logger,
    onSent(channelKey, notices) {
      const provider = channelKey.startsWith("TEAMS:") ? "TEAMS" : "SLACK";
      for (const notice of notices) metrics?.onNotificationSent(provider, notice.occurredAt);
      options.dispatcher?.onSent?.(channelKey, notices);
    },
  });
  const pruning = setInterval(() => {
    pruneInboundEvents(prisma, PRUNE_INBOUND_AFTER_MS).catch((error: unknown) => logger.warn({ err: error }, "pruning inbound chat event ids failed"));
  }, 3_600_000);
  pruning.unref();

  return {
    routes,
    async handle(event) {
      if (Object.keys(senders).length === 0) return;
      const notice = await boardNoticeOf(prisma, event, settings.webUrl);
      if (!notice) return;
      if ((await enqueue(prisma, notice, await targetsOf(prisma, notice))) > 0) dispatcher.wake();
    },
    async drain() {
      await background.idle();
      await dispatcher.drain();
    },
    async close() {
      clearInterval(pruning);
      await background.idle();
      await dispatcher.close();
      metrics?.close();
    },
  };
}
