/**
 * The outgoing-webhook dispatcher: turns domain events into queued deliveries (queue.ts) and runs
 * one loop per process that leases due deliveries, POSTs them signed (signature.ts) through the
 * SSRF-guarded agent (target-guard.ts) and records each attempt.
 *
 * Attempts run detached from the loop, bounded by `concurrency`: the loop never waits for one
 * receiver's answer before claiming more, so a slow or hanging endpoint only holds its own slots
 * (and claimDue's per-webhook cap keeps it from taking them all). The loop polls, and handle()
 * wakes it so a fresh event goes out without waiting for the next poll.
 */
import { LRUCache } from "lru-cache";
import type { Agent } from "undici";
import type { DomainEvent } from "../../../../events/contracts/envelope.ts";
import type { PrismaClient } from "../../../../platform/db.ts";
import { createLogger, type Logger } from "../../../../platform/logger.ts";
import {
  type WebhookHealthPolicy,
  type AttemptResult,
  type ClaimedDelivery,
  claimDue,
  enqueueDeliveries,
  type RecordedAttempt,
  recordAttempt,
} from "./queue.ts";
import { DEFAULT_RETRY_SCHEDULE } from "./schedule.ts";
import type { KeyRing } from "./secret-box.ts";
import { activeSecrets, signingSecrets, type StoredSecrets } from "./secrets.ts";
import { webhookHeaders } from "./signature.ts";
import { createWebhookAgent, postWebhook, type WebhookAgentOptions, WebhookDeliveryError } from "./target-guard.ts";
import { SpanKind, startChildSpan } from "../../../../platform/tracing.ts";

export interface WebhookDispatcherOptions {
  readonly prisma: PrismaClient;
  /** Options of the guarded HTTP agent (allowPrivate for tests/dev only; timeoutMs default 10 000). */
  readonly agent?: WebhookAgentOptions;
  /** Retry delays in ms (schedule.ts). Default DEFAULT_RETRY_SCHEDULE. */
  readonly schedule?: readonly number[];
  /** How often the loop looks for due deliveries when nothing wakes it. Default 250 ms. */
  readonly pollIntervalMs?: number;
  /** Most deliveries leased per claim. Default 50. */
  readonly batchSize?: number;
  /** Lease length; must exceed the agent's timeout so a lease outlives its POST (and its record). A crashed dispatcher's deliveries wait this long. Default 30 000 ms. */
  readonly lockMs?: number;
  /** Leased deliveries one webhook may have at once (claimDue's cap). Default 4. */
  readonly perWebhook?: number;
  /** Attempts in flight at once, over all webhooks. Default 64. */
  readonly concurrency?: number;
  /**
   * A webhook is trusted with perWebhook attempts at once only after an attempt answered within
   * this; until then it gets one attempt in flight. One slower or unanswered makes it slow: one
   * attempt in flight, and all slow webhooks a quarter of `concurrency` between them, so endpoints
   * that take seconds cannot hold the slots the quick ones need. Default 1 000 ms.
   */
  readonly slowAfterMs?: number;
  /** How long close() waits for in-flight attempts before abandoning them to their leases. Default 15 000 ms. */
  readonly closeTimeoutMs?: number;
  /**
   * The key ring that opens the stored secrets (secrets.ts). Absent: the stored values are used as
   * they are, for tests that store clear `whsec_` secrets; a misconfigured runtime then signs with
   * the sealed text, which no receiver accepts: it fails closed.
   */
  readonly keyRing?: KeyRing;
  /** When webhooks whose deliveries keep failing are switched off (queue.ts). Default: only on 410 Gone. */
  readonly health?: WebhookHealthPolicy;
  /** Called after each attempt is recorded (metrics, tests). Default none. */
  readonly onAttempt?: (delivery: ClaimedDelivery, recorded: RecordedAttempt, durationMs: number) => void;
  /** Default createLogger("webhook-dispatcher"). */
  readonly logger?: Logger;
  /** Current time (tests). Default () => new Date(). */
  readonly clock?: () => Date;
  /** Jitter source for the retry schedule (tests). Default Math.random. */
  readonly random?: () => number;
}

export interface WebhookDispatcher {
  /** Enqueues the event's deliveries (idempotent per webhook and event), then wakes the loop. */
  handle(event: DomainEvent): Promise<void>;
  /** For tests: claims and attempts until nothing is due now and nothing is in flight. */
  drain(): Promise<void>;
  /** Stops the loop, waits (bounded) for in-flight attempts, closes the agent. Idempotent. */
  close(): Promise<void>;
}

/** target-guard's default timeout, needed here to check the lease outlives a POST. */
const AGENT_DEFAULT_TIMEOUT_MS = 10_000;
const RETRY_AFTER = "retry-after";

function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? (value[0] ?? null) : value;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, got ${value}`);
  return value;
}

export function createWebhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  const { prisma } = options;
  const schedule = options.schedule ?? DEFAULT_RETRY_SCHEDULE;
  const pollIntervalMs = positive("pollIntervalMs", options.pollIntervalMs ?? 250);
  const batchSize = positive("batchSize", options.batchSize ?? 50);
  const lockMs = positive("lockMs", options.lockMs ?? 30_000);
  const perWebhook = positive("perWebhook", options.perWebhook ?? 4);
  const concurrency = positive("concurrency", options.concurrency ?? 64);
  const slowAfterMs = positive("slowAfterMs", options.slowAfterMs ?? 1_000);
  const slowBudget = Math.max(1, Math.floor(concurrency / 4));
  // Webhooks seen answering quickly, webhooks seen slow, and the attempts in flight of the slow
  // ones. Per process: each dispatcher learns for itself.
  const provenWebhooks = new LRUCache<string, true>({ max: 10_000 });
  const slowWebhooks = new LRUCache<string, true>({ max: 10_000 });
  let slowInFlight = 0;
  let mainInFlight = 0;
  const closeTimeoutMs = options.closeTimeoutMs ?? 15_000;
  const keyRing = options.keyRing;
  const secretsOf = (stored: StoredSecrets, now: Date): string[] => (keyRing ? signingSecrets(stored, keyRing, now) : activeSecrets(stored, now));
  const logger = options.logger ?? createLogger("webhook-dispatcher");
  const clock = options.clock ?? (() => new Date());
  const timeoutMs = options.agent?.timeoutMs ?? AGENT_DEFAULT_TIMEOUT_MS;
  // A lease running out mid-POST would let another dispatcher send the same attempt concurrently.
  if (lockMs <= timeoutMs) throw new RangeError(`lockMs (${lockMs}) must exceed the agent timeout (${timeoutMs})`);
  const agent: Agent = createWebhookAgent(options.agent);

  const inFlight = new Set<Promise<void>>();
  let closed = false;
  // Set once close() gives up waiting: attempts cut short then are not recorded, their leases expire.
  let abandoned = false;
  // True when the last pump left due work unclaimed for lack of room: a finished attempt wakes the loop.
  let starved = false;
  let woken = false;
  let wakeUp: (() => void) | null = null;
  // Claims are serialised (loop and drain) so that two cannot both see the same free room.
  let claiming: Promise<unknown> = Promise.resolve();

  function wake(): void {
    woken = true;
    wakeUp?.();
  }

  async function sleep(): Promise<void> {
    if (woken) {
      woken = false;
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      wakeUp = resolve;
      timer = setTimeout(resolve, pollIntervalMs);
    });
    clearTimeout(timer);
    wakeUp = null;
    woken = false;
  }

  async function send(delivery: ClaimedDelivery): Promise<AttemptResult> {
    const started = performance.now();
    try {
      const now = clock();
      const headers = webhookHeaders(
        { id: delivery.id, timestamp: Math.floor(now.getTime() / 1000), body: delivery.payload, eventType: delivery.eventType },
        secretsOf(delivery.secrets, now),
      );
      const response = await postWebhook(agent, delivery.url, { ...headers }, delivery.payload);
      return {
        status: response.status,
        durationMs: response.durationMs,
        responseExcerpt: response.excerpt,
        retryAfter: headerValue(response.headers[RETRY_AFTER]),
      };
    } catch (error) {
      const message =
        error instanceof WebhookDeliveryError ? `${error.kind}: ${error.message}` : `not sent: ${error instanceof Error ? error.message : String(error)}`;
      const final = error instanceof WebhookDeliveryError && error.kind === "forbidden";
      return { status: null, durationMs: performance.now() - started, error: message, final };
    }
  }

  async function attempt(delivery: ClaimedDelivery): Promise<void> {
    const span = startChildSpan("webhooks", "webhook deliver", SpanKind.CLIENT, delivery.traceparent, {
      "sunday.webhook_id": delivery.webhookId,
      "sunday.event_id": delivery.eventId,
      "sunday.attempt": delivery.attempt + 1,
    });
    let result: AttemptResult;
    try {
      result = await send(delivery);
      span?.setAttribute("http.response.status_code", result.status ?? 0);
    } finally {
      span?.end();
    }
    if (result.status === null || result.durationMs > slowAfterMs) {
      provenWebhooks.delete(delivery.webhookId);
      slowWebhooks.set(delivery.webhookId, true);
    } else {
      slowWebhooks.delete(delivery.webhookId);
      provenWebhooks.set(delivery.webhookId, true);
    }
    if (abandoned) return;
    let recorded: RecordedAttempt;
    try {
      recorded = await recordAttempt(prisma, delivery, result, { schedule, now: clock(), random: options.random, health: options.health });
    } catch (error) {
      // Typically the lease ran out and another dispatcher recorded this attempt number first.
      logger.error({ err: error, deliveryId: delivery.id }, "could not record a webhook attempt");
      return;
    }
    try {
      const fields = {
        deliveryId: delivery.id,
        webhookId: delivery.webhookId,
        eventId: delivery.eventId,
        correlationId: delivery.correlationId,
        attempt: recorded.attempt,
        status: result.status,
        outcome: recorded.outcome,
      };
      if (recorded.webhookDisabled) logger.warn({ ...fields, reason: recorded.disabledReason }, "webhook switched off");
      else if (recorded.status === "FAILED") logger.warn({ ...fields, error: result.error }, "webhook delivery failed");
      else logger.debug(fields, "webhook delivery attempted");
      options.onAttempt?.(delivery, recorded, result.durationMs);
    } catch (error) {
      logger.error({ err: error, deliveryId: delivery.id }, "onAttempt threw");
    }
  }

  /**
   * Runs an attempt, counted against `concurrency` or, for a slow webhook, against the slow
   * budget. An attempt still running after slowAfterMs is moved to the slow budget there and then
   * (its webhook is slow): an endpoint not known yet holds a main slot for that long at most, not
   * for its whole answer.
   */
  function start(delivery: ClaimedDelivery): void {
    let slow = slowWebhooks.has(delivery.webhookId);
    if (slow) slowInFlight += 1;
    else mainInFlight += 1;
    const demote = slow
      ? undefined
      : setTimeout(() => {
          slow = true;
          mainInFlight -= 1;
          slowInFlight += 1;
          provenWebhooks.delete(delivery.webhookId);
          slowWebhooks.set(delivery.webhookId, true);
          wake();
        }, slowAfterMs);
    demote?.unref();
    const running = attempt(delivery).finally(() => {
      clearTimeout(demote);
      if (slow) slowInFlight -= 1;
      else mainInFlight -= 1;
      inFlight.delete(running);
      if (starved) {
        starved = false;
        wake();
      }
    });
    inFlight.add(running);
  }

  /** Leases as many due deliveries as there is room for and starts them; returns how many. */
  function pump(): Promise<number> {
    const run = claiming.then(async () => {
      if (closed) return 0;
      const room = Math.min(batchSize, concurrency - mainInFlight);
      if (room <= 0) {
        starved = true;
        return 0;
      }
      const claimed = await claimDue(prisma, {
        limit: room,
        lockMs,
        perWebhook,
        now: clock(),
        endpoints: { proven: [...provenWebhooks.keys()], slow: [...slowWebhooks.keys()], slowRoom: slowBudget - slowInFlight },
      });
      for (const delivery of claimed) start(delivery);
      // Anything claimed means more may be due (a claim takes a few rows per organisation): claim
      // again at once while there is room.
      if (claimed.length > 0) {
        if (mainInFlight >= concurrency) starved = true;
        else wake();
      }
      return claimed.length;
    });
    claiming = run.catch(() => undefined);
    return run;
  }

  async function loop(): Promise<void> {
    while (!closed) {
      try {
        await pump();
      } catch (error) {
        logger.error({ err: error }, "could not claim webhook deliveries");
      }
      if (!closed) await sleep();
    }
  }

  const running = loop();

  return {
    async handle(event) {
      const count = await enqueueDeliveries(prisma, event);
      if (count > 0) wake();
    },

    async drain() {
      for (;;) {
        const claimed = await pump();
        if (claimed === 0 && inFlight.size === 0) return;
        if (closed && inFlight.size === 0) return;
        if (inFlight.size > 0) await Promise.race(inFlight);
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      wake();
      await running;
      await claiming;
      let timer: NodeJS.Timeout | undefined;
      const settled = await Promise.race([
        Promise.allSettled(inFlight).then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), closeTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (settled) {
        await agent.close();
        return;
      }
      abandoned = true;
      logger.warn({ inFlight: inFlight.size }, "closing with webhook attempts in flight; their leases will run out");
      await agent.destroy();
      await Promise.allSettled(inFlight);
    },
  };
}
