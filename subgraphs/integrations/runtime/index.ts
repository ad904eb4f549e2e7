/**
 * The integrations runtime: what the integrations subgraph does with the domain events, apart from
 * serving its API. It is feed-agnostic: `sink` is handed every committed event, by a Kafka consumer
 * in a group of its own (`serve.ts integrations-runtime`, the full stack) or by the in-process
 * pipeline (`npm start`). Same code, two feeds.
 *
 * Outgoing webhooks: each event becomes one queued delivery per matching webhook (idempotently: a
 * replayed event adds nothing), and the dispatcher sends them from the queue. The chat apps (Slack,
 * Teams; chat/index.ts) queue their notifications from the same events, and answer the inbound
 * requests the gateway hands over (`inbound`, served on the runtime's HTTP port).
 */
import type { DomainEvent } from "../../../events/contracts/envelope.ts";
import type { PrismaClient } from "../../../platform/db.ts";
import { createLogger, type Logger } from "../../../platform/logger.ts";
import type { WebhookSettings } from "../src/webhook-settings.ts";
import type { Registry } from "prom-client";
import { createWebhookDispatcher, type WebhookDispatcherOptions } from "./webhooks/dispatcher.ts";
import { createWebhookMetrics } from "./webhooks/metrics.ts";
import { sealStoredSecrets } from "./webhooks/secrets.ts";
import { applyMembershipEvent } from "./webhooks/creator-rights.ts";
import type { WebhookHealthPolicy } from "./webhooks/queue.ts";
import type { IncomingMessage, ServerResponse } from "node:http";
import { startChat, type ChatOptions } from "./chat/index.ts";
import { createInboundHandler } from "./chat/inbound.ts";
import type { ChatSettings } from "./chat/settings.ts";
import type { NonceStore } from "../../../platform/identity.ts";

export interface IntegrationsRuntimeOptions {
  readonly prisma: PrismaClient;
  readonly webhooks: WebhookSettings;
  /** Delays between a delivery's attempts (ms). @default the dispatcher's (about 3 days) */
  readonly retrySchedule?: readonly number[];
  /** When failing webhooks are switched off (platform/config.ts WEBHOOK_DISABLE_AFTER*). @default never by count */
  readonly health?: WebhookHealthPolicy;
  /** Dispatcher tuning and hooks (tests, benchmarks, metrics). */
  readonly dispatcher?: Omit<WebhookDispatcherOptions, "prisma" | "keyRing" | "schedule" | "logger" | "health">;
  /** Where the webhook metrics (metrics.ts) are registered. @default none kept */
  readonly metrics?: Registry;
  /** @default createLogger("integrations-runtime") */
  readonly logger?: Logger;
  /** The Slack and Teams apps. Absent: no chat notifications, and their inbound paths answer 404. */
  readonly chat?: ChatSettings;
  /** Chat dispatcher tuning and the way to act as a chat user (tests, benchmarks). */
  readonly chatOptions?: Pick<ChatOptions, "dispatcher" | "actAs">;
  /** Nonces of the gateway's signed inbound requests, shared by every runtime replica (Redis). @default this process's */
  readonly nonces?: NonceStore;
}

/** What a feed hands events to (structurally the events pipeline's EventSink). */
export interface RuntimeSink {
  readonly name: string;
  deliver(event: DomainEvent): Promise<undefined>;
}

export interface IntegrationsRuntime {
  readonly sink: RuntimeSink;
  /**
   * Answers the chat services' requests the gateway forwards (`/integrations/*`); false for any
   * other path, so the process's HTTP server can serve its probes too.
   */
  inbound(request: IncomingMessage, response: ServerResponse): Promise<boolean>;
  /** Sends everything due now and waits for it (tests). */
  drain(): Promise<void>;
  close(): Promise<void>;
}

export async function startIntegrationsRuntime(options: IntegrationsRuntimeOptions): Promise<IntegrationsRuntime> {
  const logger = options.logger ?? createLogger("integrations-runtime");
  const { keyRing, allowPrivateTargets } = options.webhooks;
  const resealed = await sealStoredSecrets(options.prisma, keyRing, (webhookId, error) =>
    logger.error({ err: error, webhookId }, "a webhook secret opens with no key of WEBHOOK_SECRET_KEYS: its deliveries cannot be signed"),
  );
  if (resealed > 0) logger.info({ webhooks: resealed }, "sealed webhook secrets with the current key");
  const metrics = options.metrics ? createWebhookMetrics(options.metrics, { prisma: options.prisma, logger }) : null;
  const hook = options.dispatcher?.onAttempt;
  const dispatcher = createWebhookDispatcher({
    ...options.dispatcher,
    onAttempt:
      metrics || hook
        ? (delivery, recorded, durationMs) => {
            metrics?.onAttempt(delivery, recorded, durationMs);
            hook?.(delivery, recorded, durationMs);
          }
        : undefined,
    prisma: options.prisma,
    keyRing,
    schedule: options.retrySchedule,
    health: options.health,
    agent: { ...options.dispatcher?.agent, allowPrivate: allowPrivateTargets },
    logger,
  });
  const chat = options.chat ? startChat({ prisma: options.prisma, settings: options.chat, logger, metrics: options.metrics, ...options.chatOptions }) : null;
  const inbound = createInboundHandler({ routes: chat?.routes ?? {}, signingSecret: options.chat?.signingSecret ?? "", logger, nonces: options.nonces });
  return {
    sink: {
      name: "webhooks",
      async deliver(event) {
        // A creator's rights change before the events after it are matched: the partitions of one
        // topic keep their order, and membership events are the users topic's.
        await applyMembershipEvent(options.prisma, event);
        await dispatcher.handle(event);
        await chat?.handle(event);
        return undefined;
      },
    },
    inbound,
    async drain() {
      await dispatcher.drain();
      await chat?.drain();
    },
    async close() {
      await chat?.close();
      await dispatcher.close();
      await metrics?.close();
    },
  };
}
