/**
 * Sends the queued chat notifications, one channel at a time: everything due for a channel goes in
 * one message (a burst becomes one post, up to 20 notices), and a channel gets at most one message
 * per `channelIntervalMs` (Slack's about-one-per-second rule). A 429 holds the channel for its
 * Retry-After without counting as a failure; network errors and 5xx are retried with backoff for a
 * day, and an open breaker (nothing sent) is looked at again every few seconds without counting; as
 * soon as a channel takes a message again, its notifications waiting out a backoff are due at once,
 * so an outage drains in a few paced messages. A final answer (channel gone, token revoked) fails
 * the notifications with the reason.
 * Sending never blocks what caused the event: the sink only enqueues.
 */
import type { Logger } from "../../../../../platform/logger.ts";
import type { PrismaClient } from "../../../../../platform/db.ts";
import type { ChatNotice, ChatProvider } from "../model.ts";
import { ChatCallError } from "../connector.ts";
import { claimChannel, dueChannels, hurryChannel, markFailed, markSent, retryLater, type ClaimedNotification } from "./queue.ts";
import { SpanKind, startChildSpan } from "../../../../../platform/tracing.ts";

/** Posts notices to one channel; a refusal throws a ChatCallError (connector.ts) saying what to do. */
export type ChannelSender = (channel: { provider: ChatProvider; installationId: string; channelId: string }, notices: readonly ChatNotice[]) => Promise<void>;

export interface ChatDispatcherOptions {
  readonly prisma: PrismaClient;
  readonly senders: Partial<Record<ChatProvider, ChannelSender>>;
  readonly logger: Logger;
  /** @default 1000 */
  readonly channelIntervalMs?: number;
  /** @default 250 */
  readonly pollIntervalMs?: number;
  /** @default 20 */
  readonly batchSize?: number;
  /** Channels sent to at once. @default 8 */
  readonly concurrency?: number;
  /** @default 30 s */
  readonly leaseMs?: number;
  /** Retries of network and 5xx failures stop this long after the notification was queued. @default 24 h */
  readonly giveUpAfterMs?: number;
  /** Each message sent, with the age of its oldest notice (metrics, benchmarks). */
  readonly onSent?: (channelKey: string, notices: readonly ChatNotice[]) => void;
}

export interface ChatDispatcher {
  /** Looks for due notifications now. */
  wake(): void;
  /** Resolves when nothing is due or being sent (tests). */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** How soon notifications refused by an open breaker are looked at again (it half-opens after 30 s). */
const BROKEN_RETRY_MS = 5_000;

function backoffMs(attempt: number): number {
  const steps = [1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000];
  return steps[Math.min(attempt - 1, steps.length - 1)] ?? 300_000;
}

function parseChannelKey(channelKey: string): { provider: ChatProvider; installationId: string; channelId: string } | null {
  const [provider, installationId, ...rest] = channelKey.split(":");
  if ((provider !== "SLACK" && provider !== "TEAMS") || !installationId || rest.length === 0) return null;
  return { provider, installationId, channelId: rest.join(":") };
}

export function createChatDispatcher(options: ChatDispatcherOptions): ChatDispatcher {
  const { prisma, logger } = options;
  const channelIntervalMs = options.channelIntervalMs ?? 1_000;
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const batchSize = options.batchSize ?? 20;
  const concurrency = options.concurrency ?? 8;
  const leaseMs = options.leaseMs ?? 30_000;
  const giveUpAfterMs = options.giveUpAfterMs ?? 86_400_000;
  /** When each channel may get its next message (this process's view). */
  const nextSendAt = new Map<string, number>();
  const sending = new Set<string>();
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  let pumping: Promise<void> | null = null;
  let again = false;

  async function send(channelKey: string, batch: readonly ClaimedNotification[]): Promise<void> {
    const ids = batch.map((row) => row.id);
    const channel = parseChannelKey(channelKey);
    const sender = channel ? options.senders[channel.provider] : undefined;
    if (!channel || !sender) return markFailed(prisma, ids, `no sender for ${channelKey.split(":")[0]}`);
    const notices = batch.map((row) => row.notice);
    // One message carries the batch: its span continues the first traced notice's event.
    const span = startChildSpan("chat", "chat deliver", SpanKind.CLIENT, batch.find((row) => row.traceparent)?.traceparent, {
      "sunday.chat.provider": channel.provider,
      "sunday.notices": notices.length,
    });
    try {
      await sender(channel, notices).finally(() => span?.end());
      nextSendAt.set(channelKey, Date.now() + channelIntervalMs);
      await markSent(prisma, ids);
      options.onSent?.(channelKey, notices);
      // After an outage the channel's notifications sit at spread-out backoffs: send them in the next messages instead.
      await hurryChannel(prisma, channelKey);
    } catch (error) {
      // Anything but a classified refusal (a bug, the database) is retried like a network error.
      const failure = error instanceof ChatCallError ? error : new ChatCallError("transient", error instanceof Error ? error.message : String(error));
      const reason = failure.message;
      if (failure.kind === "rate_limited") {
        const wait = Math.max(failure.retryAfterMs ?? channelIntervalMs, channelIntervalMs);
        nextSendAt.set(channelKey, Date.now() + wait);
        logger.warn({ channelKey, retryAfterMs: wait }, "chat service rate limited a channel");
        return retryLater(prisma, ids, new Date(Date.now() + wait), reason, false);
      }
      if (failure.kind === "broken") {
        // Nothing was sent (the connector's breaker is open): not an attempt; look again shortly.
        return retryLater(prisma, ids, new Date(Date.now() + BROKEN_RETRY_MS), reason, false);
      }
      if (failure.kind === "transient") {
        const attempt = Math.max(...batch.map((row) => row.attempt));
        const oldest = Math.min(...batch.map((row) => row.createdAt.getTime()));
        if (Date.now() - oldest > giveUpAfterMs) return markFailed(prisma, ids, `gave up after ${attempt} attempts: ${reason}`);
        return retryLater(prisma, ids, new Date(Date.now() + backoffMs(attempt)), reason, true);
      }
      logger.warn({ err: error, channelKey }, "chat notification refused for good");
      return markFailed(prisma, ids, reason);
    }
  }

  /** One pass: every due channel that may get a message now gets one (bounded by `concurrency`). */
  async function pump(): Promise<void> {
    const now = Date.now();
    const channels = await dueChannels(prisma, concurrency * 4);
    const ready = channels.filter(({ channelKey }) => !sending.has(channelKey) && (nextSendAt.get(channelKey) ?? 0) <= now).slice(0, concurrency);
    await Promise.all(
      ready.map(async ({ channelKey }) => {
        sending.add(channelKey);
        try {
          const batch = await claimChannel(prisma, channelKey, batchSize, leaseMs);
          if (batch.length > 0) await send(channelKey, batch);
        } finally {
          sending.delete(channelKey);
        }
      }),
    );
    // The earliest paced channel decides when to look again.
    const waits = channels.map(({ channelKey }) => (nextSendAt.get(channelKey) ?? 0) - Date.now()).filter((wait) => wait > 0);
    if (ready.length > 0) again = true;
    else if (waits.length > 0) schedule(Math.min(...waits, pollIntervalMs));
  }

  function run(): void {
    if (closed || pumping) {
      again = true;
      return;
    }
    again = false;
    pumping = pump()
      .catch((error: unknown) => logger.error({ err: error }, "chat dispatcher pass failed"))
      .finally(() => {
        pumping = null;
        if (again && !closed) run();
      });
  }

  function schedule(delayMs: number): void {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      run();
      schedule(pollIntervalMs);
    }, delayMs);
    timer.unref();
  }

  schedule(0);

  return {
    wake: run,
    async drain() {
      for (;;) {
        while (pumping) await pumping;
        const due = await dueChannels(prisma, 1);
        if (due.length === 0 && !pumping) return;
        const wait = Math.max(0, ...due.map(({ channelKey }) => (nextSendAt.get(channelKey) ?? 0) - Date.now()));
        await new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(wait, 10), 1_000)));
        run();
      }
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      while (pumping) await pumping;
    },
  };
}
